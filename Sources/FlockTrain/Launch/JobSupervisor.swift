import FlockStore
import Foundation

/// Runs a `flock train` job under `mpirun` and heals it: when a rank or host dies (the
/// whole `mpirun` job ends: Open MPI 4.1 has no ULFM), it relaunches on the slots still
/// alive — the hostfile's hosts that answer, or on this machine the ranks less the one
/// lost — down to `minRanks`, resuming from the newest complete checkpoint. An error of
/// the job itself (a rank's failure record says so) is not retried. Each restart goes to
/// the store at once and into `summary.json` when the job completes.
///
/// ```swift
/// let supervisor = JobSupervisor(job: job, storePath: nil) { print($0) }
/// let restarts = try supervisor.run()
/// ```
public final class JobSupervisor {
    public let job: SupervisedJob
    public private(set) var restarts: [JobRestart] = []
    let channel: SupervisorChannel
    /// The snapshot keepers, with `elastic.snapshot_every_steps`.
    let fleet: KeeperFleet?
    let storePath: String
    let log: (String) -> Void
    let stop = StopRequest()
    private(set) var launches = 0
    /// Hosts found lost during the last launch (their keepers fell silent).
    private var lostHosts: Set<String> = []

    /// A restart whose relaunched job has not trained a step yet.
    struct PendingRestart {
        var cause: String, ranksBefore: Int, ranksAfter: Int, stepsLost: Int, fromStep: Int, failedAt: Date
        var source: JobRestart.Source
    }

    public init(job: SupervisedJob, storePath: String?, log: @escaping (String) -> Void) {
        self.job = job
        self.log = log
        let run = URL(fileURLWithPath: job.runDirectory)
        channel = SupervisorChannel(folder: URL(fileURLWithPath: job.runDirectory + ".supervisor"))
        fleet = job.snapshotEverySteps == nil ? nil : KeeperFleet(channel: channel, executable: job.train.executable.path)
        self.storePath = storePath ?? run.deletingLastPathComponent().appendingPathComponent("flock.sqlite").path
    }

    var runID: String { URL(fileURLWithPath: job.runDirectory).standardizedFileURL.path }

    /// Runs the job to its end; throws `SupervisorError` when it cannot be healed or is stopped.
    public func run() throws -> [JobRestart] {
        try job.validate()
        defer { try? FileManager.default.removeItem(at: channel.folder) }
        defer { fleet?.stop() }
        var width = job.ranks, resume = job.train.resume
        let hostfileHosts = try job.hostfile.map { try SlotProbe.hosts(inHostfile: $0) }
        var hosts = hostfileHosts
        var pending: PendingRestart? = nil
        while true {
            let outcome = try launch(width: width, resume: resume, hosts: hosts, pending: &pending)
            if let signal = outcome.stoppedBy { throw stopped(by: signal) }
            if outcome.status == 0 {
                try writeRestartsToSummary()
                return restarts
            }
            // Probing is part of the restart's time: `seconds` runs from the failure. A host
            // whose keeper fell silent is lost: not probed, so not waited for.
            if let all = hostfileHosts {
                hosts = try waitForLostHosts(SlotProbe.answering(all.filter { !lostHosts.contains($0.name) }), of: all)
            }
            lostHosts = []
            let next = try restart(after: outcome, width: width, slots: hosts.map { $0.reduce(0) { $0 + $1.slots } } ?? width - 1)
            // With no checkpoint yet (the run directory removed), the relaunch starts afresh.
            let checkpoint = URL(fileURLWithPath: job.runDirectory).appendingPathComponent("checkpoints/last/state.json")
            (width, resume, pending) = (next.ranksAfter, FileManager.default.fileExists(atPath: checkpoint.path), next)
        }
    }

    /// One launch, watched until it ends; a pending restart is recorded once the job trains.
    private func launch(width: Int, resume: Bool, hosts: [SlotProbe.Host]?, pending: inout PendingRestart?) throws -> SupervisedAttempt.Outcome {
        try channel.reset()
        var hostfile: String? = nil
        if let hosts {
            let file = channel.folder.appendingPathComponent("hostfile")
            try SlotProbe.hostfile(hosts).write(to: file, atomically: true, encoding: .utf8)
            hostfile = file.path
        }
        var environment = ProcessInfo.processInfo.environment
        environment[SupervisorChannel.variable] = channel.folder.path
        environment[SupervisorChannel.attemptVariable] = "\(launches)"
        if environment["OPENBLAS_NUM_THREADS"] == nil { environment["OPENBLAS_NUM_THREADS"] = "1" }
        let exported = environment.keys.filter { $0.hasPrefix("FLOCK_") || $0 == "OPENBLAS_NUM_THREADS" }.sorted()
        launches += 1
        let attempt = SupervisedAttempt(command: job.command(width: width, resume: resume, hostfile: hostfile, exported: exported),
                                        environment: environment)
        fleet?.ensure(keeperHosts(hosts), log: log)
        try attempt.start()
        var watch = StallWatch(limit: job.stallSeconds)
        let outcome = attempt.wait(stop: stop) {
            let step = channel.progress()
            if let waiting = pending, let step, step > waiting.fromStep {
                record(waiting, seconds: Date().timeIntervalSince(waiting.failedAt))
                pending = nil
            }
            return silentHost() ?? watch.stalled(at: step)
        }
        // A relaunch that ended before its first step still counts, timed to its end.
        if let waiting = pending { record(waiting, seconds: Date().timeIntervalSince(waiting.failedAt)) }
        pending = nil
        return outcome
    }

    private func record(_ restart: PendingRestart, seconds: Double) {
        let entry = JobRestart(cause: restart.cause, ranksBefore: restart.ranksBefore, ranksAfter: restart.ranksAfter,
                               stepsLost: restart.stepsLost, seconds: seconds, source: restart.source)
        restarts.append(entry)
        log("supervisor: training again on \(restart.ranksAfter) ranks \(String(format: "%.1f", seconds)) s after the failure (\(restart.stepsLost) steps lost)")
        do {
            let store = try ExperimentStore(path: storePath)
            let number = try store.restarts(runID: runID).count + 1
            try store.recordRestart(entry.record(runID: runID, number: number))
        } catch {
            log("supervisor: warning: the restart is not in the store: \(error)")
        }
    }

    /// The keepers' hosts for a launch on `hosts` (nil: this machine), indexed by their
    /// place in the hostfile so that a host keeps its index across relaunches.
    private func keeperHosts(_ hosts: [SlotProbe.Host]?) -> [KeeperFleet.Host] {
        guard let hosts, let all = try? job.hostfile.map({ try SlotProbe.hosts(inHostfile: $0) }) else { return [.init(index: 0)] }
        return hosts.compactMap { host in all.firstIndex { $0.name == host.name }.map { KeeperFleet.Host(index: $0, name: host.name) } }
    }

    /// A host whose keeper fell silent while its mpirun still waits on it: lost. The
    /// launch ends at once (not after `stall_seconds`), and the host is not probed.
    private func silentHost() -> SupervisedAttempt.Hang? {
        guard job.hostfile != nil, let fleet, let silent = fleet.silentHost() else { return nil }
        lostHosts.insert(silent.name)
        fleet.end(silent.index)
        return SupervisedAttempt.Hang(reason: "host \(silent.name) lost: its snapshot keeper has not answered for \(Int(fleet.silenceLimit)) s",
                                      since: silent.since, grace: 1)
    }
}
