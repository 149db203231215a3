import Foundation

/// One `mpirun` launch of a supervised job: started as a child, its standard error passed
/// through (and its tail kept, to say why it ended), watched until it exits or a stop is
/// asked for. Standard output is inherited.
final class SupervisedAttempt {
    struct Outcome {
        /// mpirun's exit status (128 + N when it reports a rank killed by signal N).
        var status: Int32
        /// The end of mpirun's standard error.
        var errorTail: String
        /// The signal that stopped the job from outside (SIGTERM to the supervisor).
        var stoppedBy: Int32?
        /// Why the supervisor ended a job that had not ended itself (it hung).
        var endedBecause: String? = nil
        /// When the job failed: mpirun's exit, or a hung job's last sign of life.
        var failedAt = Date()
    }

    /// A job that stopped moving: why, and since when.
    struct Hang {
        var reason: String
        var since: Date
        /// How long mpirun gets to end its ranks before they are killed: a lost host's
        /// daemon never answers, so waiting long only delays the relaunch.
        var grace: TimeInterval = 5
    }

    private let process = Process()
    private let tail = ErrorTail()

    init(command: [String], environment: [String: String]) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = environment
    }

    var processIdentifier: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func start() throws {
        let pipe = Pipe()
        process.standardError = pipe
        tail.drain(pipe.fileHandleForReading)
        do { try process.run() } catch {
            throw LaunchError("cannot start mpirun: \(error.localizedDescription) (is Open MPI installed and on PATH?)")
        }
    }

    /// Polls until mpirun exits, calling `tick` every 50 ms; a stop request ends the job,
    /// and so does a reason `tick` returns.
    func wait(stop: StopRequest, tick: () -> Hang?) -> Outcome {
        while process.isRunning {
            if let signal = stop.signal {
                end()
                return Outcome(status: 128 + signal, errorTail: tail.text(), stoppedBy: signal)
            }
            if let hang = tick() {
                end(grace: hang.grace)
                return Outcome(status: 128 + SIGTERM, errorTail: tail.text(), stoppedBy: nil, endedBecause: hang.reason,
                               failedAt: hang.since)
            }
            usleep(50_000)
        }
        process.waitUntilExit()
        _ = tick()
        let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        return Outcome(status: status, errorTail: tail.text(), stoppedBy: nil)
    }

    /// SIGTERM to mpirun (it ends its ranks), SIGKILL to all that is left after a grace
    /// period: Open MPI gives each rank a process group of its own, so the job's processes
    /// are found by ancestry, before mpirun goes and they lose it.
    func end(grace: TimeInterval = 5) {
        var known = Set(ProcessTree.descendants(of: process.processIdentifier))
        process.terminate()
        let limit = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < limit {
            known.formUnion(ProcessTree.descendants(of: process.processIdentifier))
            usleep(50_000)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        for pid in known where ProcessTree.isAlive(pid) { kill(pid, SIGKILL) }
    }
}

/// Passes a child's standard error through to ours and keeps its last 16 KB.
private final class ErrorTail: @unchecked Sendable {
    private let lock = NSLock()
    private var kept = Data()
    private let done = DispatchSemaphore(value: 0)
    private static let limit = 16_384

    func drain(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                FileHandle.standardError.write(chunk)
                lock.lock()
                kept.append(chunk)
                if kept.count > Self.limit { kept.removeFirst(kept.count - Self.limit) }
                lock.unlock()
            }
            done.signal()
        }
    }

    /// Everything kept, once the child's end of the pipe has closed.
    func text() -> String {
        _ = done.wait(timeout: .now() + 5)
        lock.lock(); defer { lock.unlock() }
        return String(decoding: kept, as: UTF8.self)
    }
}
