import Foundation
import Testing

/// `mpirun` jobs of `flock-mpi-check`, launched as child processes under a timeout so a
/// hang fails the test instead of blocking the suite.
@Suite(.serialized) struct MPIJobTests {
    struct Outcome {
        let status: Int32
        let output: String
        let timedOut: Bool
    }

    static var checkExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("flock-mpi-check").path
    }

    func mpirun(ranks: Int, _ mode: String, environment extra: [String: String] = [:], timeout: TimeInterval = 180) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "\(ranks)"]
        for key in extra.keys.sorted() { arguments += ["-x", key] }
        process.arguments = arguments + [Self.checkExecutable, mode]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = "1"
        environment.merge(extra) { $1 }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = CollectedOutput(pipe)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        let timedOut = process.isRunning
        if timedOut {
            // mpirun forwards SIGTERM to its ranks.
            process.terminate()
            usleep(500_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: collected.text(), timedOut: timedOut)
    }

    @Test(arguments: [2, 4])
    func everyCollectiveMatchesTheReference(ranks: Int) throws {
        let outcome = try mpirun(ranks: ranks, "collectives")
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        for rank in 0..<ranks {
            #expect(outcome.output.contains("rank \(rank): ok "), "\(outcome.output)")
        }
        #expect(outcome.output.contains("shared memory true"))
    }

    @Test func mismatchedCountsFailOnEveryRank() throws {
        let outcome = try mpirun(ranks: 3, "mismatch", timeout: 120)
        #expect(!outcome.timedOut && outcome.status != 0)
        #expect(outcome.output.contains("ranks disagree: element counts per rank [8, 9, 8]"), "\(outcome.output)")
    }

    @Test func aSilentRankTimesOutNamingIt() throws {
        let outcome = try mpirun(ranks: 3, "silent", environment: ["FLOCK_COLLECTIVE_TIMEOUT": "2"], timeout: 120)
        #expect(!outcome.timedOut && outcome.status != 0)
        #expect(outcome.output.contains("collective #1: timed out after 2 s waiting for rank 1"), "\(outcome.output)")
    }

    @Test func aKilledRankEndsTheWholeJob() throws {
        let outcome = try mpirun(ranks: 3, "killed", timeout: 120)
        #expect(!outcome.timedOut && outcome.status != 0)
        #expect(outcome.output.contains("exited on signal 9"), "\(outcome.output)")
        #expect(!outcome.output.contains("no error"))
    }
}

/// Everything written to a pipe, read on a background thread.
final class CollectedOutput: @unchecked Sendable {
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
