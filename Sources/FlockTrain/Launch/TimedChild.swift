import Foundation

/// A child process run to completion under a deadline; a hung child is killed.
public struct TimedChild {
    public struct Outcome {
        /// nil when it was killed by a signal or did not start.
        public var status: Int32?
        public var output: String
        public var timedOut: Bool
        public var startFailure: String?

        public var succeeded: Bool { status == 0 && !timedOut }
    }

    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String],
                    timeout: TimeInterval) -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        // Output goes to a file, not a pipe: a chatty child can never block on a full pipe.
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("flock-child-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: capture) }
        guard FileManager.default.createFile(atPath: capture.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: capture) else {
            return Outcome(status: nil, output: "", timedOut: false, startFailure: "cannot write \(capture.path)")
        }
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        do { try process.run() } catch {
            return Outcome(status: nil, output: "", timedOut: false, startFailure: "\(error)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let timedOut = process.isRunning
        if timedOut {
            // SIGTERM first: mpirun forwards it to its ranks.
            process.terminate()
            let grace = Date().addingTimeInterval(2)
            while process.isRunning && Date() < grace { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let output = (try? String(contentsOf: capture, encoding: .utf8)) ?? ""
        let exited = process.terminationReason == .exit
        return Outcome(status: exited ? process.terminationStatus : nil, output: output, timedOut: timedOut, startFailure: nil)
    }
}
