import Foundation

/// Runs a command as a child process with a deadline; a hang is killed and reported.
struct ChildProcess {
    struct Outcome {
        let status: Int32
        let standardOutput: String
        let standardError: String
        let timedOut: Bool
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `flock` executable built beside the test bundle.
    static var flockExecutable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("flock")
    }

    static func run(_ executable: URL, _ arguments: [String], timeout: TimeInterval = 120,
                    directory: URL = repositoryRoot) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
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
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, standardOutput: outputData.text(),
                       standardError: errorData.text(), timedOut: timedOut)
    }

    static func flock(_ arguments: [String], timeout: TimeInterval = 120) throws -> Outcome {
        try run(flockExecutable, arguments, timeout: timeout)
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
struct TemporaryFolder {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flock-test-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}
