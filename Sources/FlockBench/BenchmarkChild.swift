import Foundation

/// A benchmark's child job (`mpirun … flock train …`) run to its end under a deadline,
/// its output kept in a file (a chatty child never blocks on a full pipe).
enum BenchmarkChild {
    struct Outcome {
        /// nil when it was killed by a signal, timed out or did not start.
        let status: Int32?
        /// Why it failed: its last line of output, the signal or the deadline.
        let reason: String
    }

    static func run(_ words: [String], timeout: TimeInterval) -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = words
        let capture = FileManager.default.temporaryDirectory.appendingPathComponent("flock-bench-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: capture) }
        guard FileManager.default.createFile(atPath: capture.path, contents: nil), let handle = try? FileHandle(forWritingTo: capture) else {
            return Outcome(status: nil, reason: "cannot write \(capture.path)")
        }
        process.standardOutput = handle
        process.standardError = handle
        do { try process.run() } catch { return Outcome(status: nil, reason: "cannot start \(words[0]): \(error)") }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        let timedOut = process.isRunning
        if timedOut { process.terminate() }
        process.waitUntilExit()
        try? handle.close()
        let output = (try? String(contentsOf: capture, encoding: .utf8)) ?? ""
        let last = output.split(separator: "\n").last(where: { !$0.allSatisfy { $0 == "-" || $0 == " " } }).map(String.init) ?? ""
        if timedOut { return Outcome(status: nil, reason: "no end within \(Int(timeout)) s") }
        guard process.terminationReason == .exit else { return Outcome(status: nil, reason: "killed by signal \(process.terminationStatus)") }
        return Outcome(status: process.terminationStatus, reason: last.isEmpty ? "exit status \(process.terminationStatus)" : last)
    }
}
