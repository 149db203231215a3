import Foundation

/// Runs a command as a child process with a deadline; a hang is stopped and reported.
/// Shared by the test targets that launch `flock`, `mpirun` and `flock-mpi-check`.
public struct ChildProcess {
    public struct Outcome: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
        public let timedOut: Bool

        /// Both streams, for failure messages.
        public var output: String { standardOutput + standardError }
    }

    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// An executable built beside the test bundle (`flock`, `flock-mpi-check`).
    public static func built(_ name: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    }

    public static var flockExecutable: URL { built("flock") }

    /// `flock train` with a pause after each checkpoint file (`flock-fault-runner`), for
    /// tests that kill a run in the middle of writing a checkpoint.
    public static var faultRunnerExecutable: URL { built("flock-fault-runner") }

    public static let digitsCSV = repositoryRoot.appendingPathComponent("examples/data/digits.csv").path

    /// This process's environment for a child: one BLAS thread, then `extra` on top.
    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment.merge(extra) { $1 }
        return environment
    }

    /// Runs `executable` until it exits or `timeout` passes; then it gets `stopSignal` (and
    /// SIGKILL a second later if it is still there). One BLAS thread per child by default.
    public static func run(_ executable: URL, _ arguments: [String], timeout: TimeInterval = 120,
                           environment extra: [String: String] = [:], stopSignal: Int32 = SIGKILL,
                           directory: URL = repositoryRoot) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment(extra)
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        // Drain both pipes while the child runs, so a chatty child cannot block on a full pipe.
        let outputData = DrainedPipe(output), errorData = DrainedPipe(error)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, stopSignal)
            let grace = Date().addingTimeInterval(1)
            while process.isRunning && Date() < grace { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, standardOutput: outputData.text(),
                       standardError: errorData.text(), timedOut: timedOut)
    }

    public static func flock(_ arguments: [String], timeout: TimeInterval = 120,
                             environment: [String: String] = [:]) throws -> Outcome {
        try run(flockExecutable, arguments, timeout: timeout, environment: environment)
    }

    /// `mpirun --oversubscribe --allow-run-as-root` with `arguments`; a hang gets SIGTERM,
    /// which mpirun forwards to its ranks.
    public static func mpirun(_ arguments: [String], timeout: TimeInterval = 180,
                              environment: [String: String] = [:]) throws -> Outcome {
        let exported = environment.keys.sorted().flatMap { ["-x", $0] }
        return try run(URL(fileURLWithPath: "/usr/bin/env"),
                       ["mpirun", "--oversubscribe", "--allow-run-as-root", "-x", "OPENBLAS_NUM_THREADS"] + exported + arguments,
                       timeout: timeout, environment: environment, stopSignal: SIGTERM)
    }
}

/// Collects everything written to a pipe on a background thread.
private final class DrainedPipe: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            let all = handle.readDataToEndOfFile()
            lock.lock(); data = all; lock.unlock()
            done.signal()
        }
    }

    func text() -> String {
        done.wait()
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A fresh temporary folder, removed by `cleanUp()`.
public struct TemporaryFolder {
    public let url = FileManager.default.temporaryDirectory.appendingPathComponent("flock-test-\(UUID().uuidString)")

    public init() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    public func cleanUp() { try? FileManager.default.removeItem(at: url) }
}
