import Foundation

/// A Slurm job's state as `squeue`/`sacct` name it, in the three kinds the driver acts on.
public enum SlurmJobState: Sendable, Equatable {
    /// Queued or running (`PENDING`, `RUNNING`, `COMPLETING`, `SUSPENDED`, ...).
    case active(String)
    /// `COMPLETED`: the batch script exited 0.
    case completed
    /// Any other end (`FAILED`, `CANCELLED`, `TIMEOUT`, `NODE_FAIL`, `OUT_OF_MEMORY`, ...).
    case ended(String)

    static let endings: Set<String> = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
                                       "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT"]

    /// From `squeue -o %T` or `sacct -o State` (`CANCELLED by 0` is `CANCELLED`).
    init(slurmName: String) {
        let name = String(slurmName.split(separator: " ").first ?? "").uppercased()
        if name == "COMPLETED" { self = .completed } else if Self.endings.contains(name) { self = .ended(name) } else { self = .active(name) }
    }

    /// The name as Slurm writes it.
    public var name: String {
        switch self {
        case let .active(name), let .ended(name): return name
        case .completed: return "COMPLETED"
        }
    }
}

/// Slurm's client commands (`sbatch`, `squeue`, `scancel`, and `sacct` when there), found on
/// `PATH`; each call runs one command and reads its output. They read `SLURM_CONF` like any
/// Slurm client, so the driver talks to whichever cluster its environment names.
public struct SlurmCommands: Sendable {
    let sbatch: URL
    let squeue: URL
    let scancel: URL
    let sacct: URL?

    /// Finds the commands on `path` (default: this process's `PATH`); throws, naming
    /// `launcher: slurm` and what is missing, when Slurm's clients are not installed.
    public static func locate(path: String? = ProcessInfo.processInfo.environment["PATH"]) throws -> SlurmCommands {
        let folders = (path ?? "").split(separator: ":").map(String.init)
        func find(_ name: String) -> URL? {
            folders.lazy.map { URL(fileURLWithPath: $0).appendingPathComponent(name) }
                .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        }
        let needed = ["sbatch", "squeue", "scancel"]
        let missing = needed.filter { find($0) == nil }
        guard missing.isEmpty else {
            throw SweepError(description: "launcher: slurm needs Slurm's client commands on PATH, but \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not there (install Slurm's clients, e.g. `apt-get install slurm-client`, or choose another launcher)")
        }
        return SlurmCommands(sbatch: find("sbatch")!, squeue: find("squeue")!, scancel: find("scancel")!, sacct: find("sacct"))
    }

    /// Submits `script` with `options`; returns the job ID.
    func submit(script: URL, options: [String]) throws -> String {
        let result = try Self.run(sbatch, ["--parsable"] + options + [script.path])
        // --parsable prints `ID` or `ID;cluster`.
        let id = result.output.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) } ?? ""
        guard result.status == 0, Int(id) != nil else {
            throw SweepError(description: "sbatch failed (status \(result.status)): \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return id
    }

    /// The job's state; nil when neither `squeue` nor `sacct` knows the job (it left
    /// squeue's memory, or the controller lost it). Throws when `squeue` cannot answer.
    func state(of job: String) throws -> SlurmJobState? {
        let result = try Self.run(squeue, ["--noheader", "--jobs=\(job)", "--states=all", "--format=%T"])
        if result.status == 0, let line = result.output.split(separator: "\n").first {
            return SlurmJobState(slurmName: String(line))
        }
        guard result.status == 0 || result.errors.contains("Invalid job id") else {
            throw SweepError(description: "squeue failed (status \(result.status)): \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        // Gone from squeue: accounting may still know how it ended (without accounting, sacct fails).
        guard let sacct, let recorded = try? Self.run(sacct, ["--noheader", "--parsable2", "--allocations", "--jobs=\(job)", "--format=State"]),
              recorded.status == 0, let line = recorded.output.split(separator: "\n").first else { return nil }
        return SlurmJobState(slurmName: String(line))
    }

    /// The newest job named `name` that squeue knows, in any state: (ID, state).
    func job(named name: String) throws -> (id: String, state: SlurmJobState)? {
        let result = try Self.run(squeue, ["--noheader", "--states=all", "--name=\(name)", "--format=%i %T"])
        guard result.status == 0 else {
            throw SweepError(description: "squeue failed (status \(result.status)): \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let jobs = result.output.split(separator: "\n").compactMap { line -> (Int, SlurmJobState)? in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let id = Int(fields[0]) else { return nil }
            return (id, SlurmJobState(slurmName: String(fields[1])))
        }
        return jobs.max { $0.0 < $1.0 }.map { (String($0.0), $0.1) }
    }

    /// `scancel JOB` (SIGTERM to its processes, SIGKILL after the cluster's KillWait).
    func cancel(_ job: String) throws {
        let result = try Self.run(scancel, [job])
        guard result.status == 0 else {
            throw SweepError(description: "scancel \(job) failed (status \(result.status)): \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// Runs a client command to its end (Slurm's clients time out by themselves when the
    /// controller does not answer) and returns its status and both outputs.
    static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Errors drain on another thread, so neither pipe can fill up and block the command.
        let errorText = ErrorText()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorText.set(errors.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), errorText.text)
    }
}

/// A command's standard error, read on another thread.
private final class ErrorText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func set(_ data: Data) { lock.lock(); self.data = data; lock.unlock() }

    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
