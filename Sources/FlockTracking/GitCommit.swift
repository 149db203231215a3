import Foundation

/// The commit a run was started from: `FLOCK_GIT_COMMIT` when set (a batch job copied
/// from a checkout), else `git rev-parse HEAD` in the current directory (under 5 s);
/// nil outside a repository or without git.
enum GitCommit {
    static func current(environment: [String: String]) -> String? {
        if let given = environment["FLOCK_GIT_COMMIT"], !given.isEmpty { return given }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "HEAD"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let deadline = Date(timeIntervalSinceNow: 5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { process.terminate(); return nil }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && text.count == 40 ? text : nil
    }
}
