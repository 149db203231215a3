import Foundation

/// A supervisor's snapshot keepers (`flock _keeper`), one per host: on a hostfile each is
/// a one-rank `mpirun --host H` of its own — not a rank of the training job, so it
/// outlives the job's ranks on hosts where the supervisor has no process, and one host's
/// loss ends only its own keeper — and on one machine a child process. A keeper that
/// ended is started again before the next launch. While a launch runs, each keeper is
/// pinged twice a second: one whose process still runs but that has not answered for
/// `silenceLimit` seconds is on a host that was lost (see `silentHost`).
final class KeeperFleet {
    struct Host {
        var index: Int
        var name: String?
    }

    let folder: URL
    let executable: String
    /// No answer for this long from a keeper whose `mpirun` still runs: its host is lost.
    let silenceLimit: TimeInterval = 3
    private var processes: [Int: SupervisedAttempt] = [:]
    private var names: [Int: String] = [:]
    private let heartbeat = KeeperHeartbeat()

    init(channel: SupervisorChannel, executable: String) {
        folder = KeeperAddress.folder(in: channel)
        self.executable = executable
    }

    deinit { heartbeat.stop() }

    /// Starts a keeper on each of `hosts` that has none running and waits (20 s at most)
    /// until each has announced its address; a keeper that does not is left out, with a
    /// warning through `log`.
    func ensure(_ hosts: [Host], log: (String) -> Void) {
        var started: [Int] = []
        for host in hosts where processes[host.index]?.isRunning != true {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent("keeper-\(host.index).json"))
            let keeper = SupervisedAttempt(command: command(host), environment: ProcessInfo.processInfo.environment)
            do { try keeper.start() } catch {
                log("supervisor: warning: no snapshot keeper on \(host.name ?? "this machine"): \(error)")
                continue
            }
            processes[host.index] = keeper
            names[host.index] = host.name ?? ProcessInfo.processInfo.hostName
            started.append(host.index)
        }
        let limit = Date().addingTimeInterval(20)
        var waiting = Set(started)
        while !waiting.isEmpty && Date() < limit {
            let announced = Set(KeeperAddress.all(in: folder).map(\.index))
            waiting = waiting.filter { !announced.contains($0) && processes[$0]?.isRunning == true }
            if !waiting.isEmpty { usleep(50_000) }
        }
        for index in waiting.sorted() {
            log("supervisor: warning: the snapshot keeper on \(names[index] ?? "?") did not start within 20 s; its ranks' snapshots have one copy fewer")
            end(index)
        }
        heartbeat.watch(running)
    }

    /// The keepers announced whose processes run.
    var running: [KeeperAddress] {
        KeeperAddress.all(in: folder).filter { processes[$0.index]?.isRunning == true }
    }

    /// A keeper whose process runs but which has not answered for `silenceLimit`: its host
    /// is lost (links down, power gone). Its name and when it last answered.
    func silentHost(now: Date = Date()) -> (index: Int, name: String, since: Date)? {
        for (index, since) in heartbeat.lastAnswers().sorted(by: { $0.key < $1.key })
        where now.timeIntervalSince(since) >= silenceLimit && processes[index]?.isRunning == true {
            return (index, names[index] ?? "?", since)
        }
        return nil
    }

    /// Ends keeper `index` (its host is lost, or it is no longer wanted).
    func end(_ index: Int) {
        heartbeat.forget(index)
        processes.removeValue(forKey: index)?.end(grace: 1)
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("keeper-\(index).json"))
    }

    /// Ends every keeper.
    func stop() {
        heartbeat.stop()
        for index in processes.keys.sorted() { end(index) }
    }

    private func command(_ host: Host) -> [String] {
        let keeper = ["_keeper", "--folder", folder.path, "--index", "\(host.index)"]
        let words: [String]
        if let name = host.name {
            var mpirun = MPIRunCommand(ranks: 1)
            mpirun.oversubscribe = false
            words = mpirun.words(running: executable, keeper).replacingFirst("-np", with: ["--host", name, "-np"])
        } else {
            words = [executable] + keeper + ["--exit-with-pid", "\(getpid())"]
        }
        return SupervisedJob.setpriv.map { [$0, "--pdeathsig", "TERM"] + words } ?? words
    }
}

private extension Array where Element == String {
    /// The words with the first `word` replaced by `replacement`.
    func replacingFirst(_ word: String, with replacement: [String]) -> [String] {
        guard let index = firstIndex(of: word) else { return self }
        return Array(self[..<index]) + replacement + Array(self[(index + 1)...])
    }
}
