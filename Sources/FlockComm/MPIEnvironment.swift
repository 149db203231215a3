import CMPI
import Foundation

/// The MPI library's lifetime in this process: `MPI_Init_thread` once, `MPI_Finalize` once.
///
/// Flock asks for `MPI_THREAD_SERIALIZED`: after start-up every MPI call is made either
/// inline by the rank's thread or by its one communication thread (nonblocking
/// allreduce), never both at once (`MPICallSerializer` guarantees it). That is all a
/// background allreduce needs, and it spares OpenMPI the locking of `THREAD_MULTIPLE`.
public final class MPIEnvironment: @unchecked Sendable {
    /// The thread level MPI granted.
    public let threadLevel: Int32
    /// Orders the MPI calls of every communicator of this process.
    let serializer = MPICallSerializer()
    private let lock = NSLock()
    private var finalized = false

    /// Initialises MPI (unless already initialised). Without `mpirun` this is a
    /// one-rank "singleton" job.
    public init() throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        var finalizedAlready: Int32 = 0
        MPI_Finalized(&finalizedAlready)
        guard finalizedAlready == 0 else {
            throw CommunicatorError(operation: "MPI_Init_thread", rank: 0, count: 0,
                                    reason: .invalidArgument("MPI was already finalized in this process and cannot start again"))
        }
        var provided: Int32 = 0
        if initialized == 0 {
            let code = MPI_Init_thread(nil, nil, flock_mpi_thread_serialized(), &provided)
            try MPIError.check(code, "MPI_Init_thread", operation: "start", rank: 0, count: 0)
        } else {
            MPI_Query_thread(&provided)
        }
        guard provided >= flock_mpi_thread_serialized() else {
            throw CommunicatorError(operation: "MPI_Init_thread", rank: 0, count: 0,
                                    reason: .invalidArgument("MPI granted thread level \(provided); Flock needs MPI_THREAD_SERIALIZED"))
        }
        threadLevel = provided
        MPI_Comm_set_errhandler(flock_mpi_comm_world(), flock_mpi_errors_return())
    }

    /// The communicator over every process of the job.
    public func world(deadline: Double = CollectiveDeadline.fromEnvironment(ProcessInfo.processInfo.environment)) throws -> MPICommunicator {
        try MPICommunicator(comm: flock_mpi_comm_world(), environment: self, deadline: deadline, ownsComm: false)
    }

    /// Ends MPI cleanly. Call once every collective has finished.
    public func finalize() {
        lock.lock(); defer { lock.unlock() }
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    /// Ends the whole job at once (every rank), for unrecoverable errors such as a
    /// collective that timed out with requests still pending.
    public func abort(code: Int32) -> Never {
        MPI_Abort(flock_mpi_comm_world(), code)
        exit(code)
    }

    static var isFinalized: Bool {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        return finalized != 0
    }

    /// The MPI library's own description (`MPI_Get_library_version`; callable before
    /// MPI starts), e.g. "Open MPI v4.1.4, package: Debian OpenMPI, …".
    public static var libraryVersion: String {
        // MPI_MAX_LIBRARY_VERSION_STRING is 256 in OpenMPI; the room to spare costs nothing.
        var buffer = [CChar](repeating: 0, count: 4096)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == flock_mpi_success() else { return "unknown" }
        let bytes = buffer.prefix(Int(max(0, min(length, 4096)))).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether this process was started by `mpirun`/`mpiexec` (OpenMPI sets these).
    public static func launchedByMPIRun(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }
}

/// MPI return codes turned into thrown errors with MPI's own message.
enum MPIError {
    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(flock_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func check(_ code: Int32, _ function: String, operation: String, rank: Int, count: Int,
                      step: Int? = nil) throws {
        guard code != flock_mpi_success() else { return }
        throw CommunicatorError(operation: operation, rank: rank, count: count, step: step,
                                reason: .mpi(function: function, code: code, message: message(code)))
    }
}
