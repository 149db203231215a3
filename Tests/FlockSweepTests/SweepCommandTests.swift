import FlockStore
import FlockTestSupport
import Foundation
import Testing
@testable import FlockSweep

/// `flock sweep` as users run it: child processes under timeouts, killed and restarted.
@Suite(.serialized) struct SweepCommandTests {
    /// Retries outnumber the kill rounds of the restart test (up to 6, plus the restart):
    /// each kill of the driver counts against the trials it was running, and a slow
    /// machine may kill the same trial several times.
    func writeSweep(_ folder: URL, launcher: String, trials: Int, sampler: String = "{name: random}", extra: String = "") throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("sweep.yaml")
        try """
            study: restart
            base_config:
              seed: 2
              epochs: 12
              data: {source: \(DriverTests.digits), label_column: label, batch_size: 64}
              model: [{type: dense, units: 24, activation: relu}, {type: dense, units: 10}]
              optimizer: {name: adam}
            space:
              - {name: optimizer.lr, type: float, low: 0.0005, high: 0.05, log: true}
              - {name: "model[0].units", type: int, low: 8, high: 64, step: 8}
            objective: {metric: val_accuracy, direction: maximize}
            budget: {trials: \(trials)}
            sampler: \(sampler)
            launcher: \(launcher)
            heartbeat_timeout: 2
            max_retries: 8
            \(extra)
            """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// `flock ARGUMENTS`, killed with SIGKILL after `killAfter` seconds if given;
    /// `killed` says whether it was still running then.
    func run(_ arguments: [String], killAfter: Double? = nil) throws -> (status: Int32, output: String, killed: Bool) {
        let outcome = try ChildProcess.flock(arguments, timeout: killAfter ?? 240)
        return (outcome.status, outcome.output, outcome.timedOut)
    }

    /// PIDs whose command line mentions `text` (from /proc).
    func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }

    func trials(_ store: URL) throws -> [TrialRecord] {
        try StudyReport(storePath: store.path, study: "restart").trials
    }

    @Test(arguments: ["in_process", "subprocess"])
    func aKilledDriverRestartedCompletesExactlyTheBudget(launcher: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sweep = try writeSweep(folder, launcher: launcher, trials: 10)
        let arguments = ["sweep", sweep.path, "--workers", "2", "--dir", folder.appendingPathComponent("study").path]
        let store = folder.appendingPathComponent("study/flock.sqlite")
        // Kill the driver part-way (again and again, a little later each time, as a loaded
        // machine may be slow to start) until some trials have finished while others were
        // running at the kill.
        var before: [TrialRecord] = []
        var sawRunningAtKill = false
        for round in 0..<6 {
            let killed = try run(arguments, killAfter: 1.5 + 0.5 * Double(round))
            // On a loaded machine a kill can land before the driver created its store.
            before = FileManager.default.fileExists(atPath: store.path) ? try trials(store) : []
            if killed.status == 0 { break }
            // A driver that failed on its own is not a kill to recover from.
            #expect(killed.killed && killed.status == SIGKILL, "driver exited with \(killed.status): \(killed.output)")
            sawRunningAtKill = sawRunningAtKill || (killed.killed && before.contains { $0.state == .running })
            if sawRunningAtKill && before.contains(where: { $0.state == .complete }) { break }
        }
        #expect(sawRunningAtKill, "no kill caught a trial running")
        #expect(before.count < 10, "the study finished before it could be interrupted")
        let finishedBefore = before.filter { $0.state == .complete }
        let restarted = try run(arguments)
        #expect(restarted.status == 0, "\(restarted.output)")
        let after = try trials(store)
        #expect(after.count == 10, "\(after.map { ($0.number, $0.state) })")
        #expect(after.allSatisfy { $0.state == .complete }, "\(after.map { ($0.number, $0.state, $0.error ?? "") })")
        #expect(Set(after.map(\.params)).count == 10)
        // Nothing finished before the kill was run again.
        for trial in finishedBefore {
            let same = after.first { $0.number == trial.number }!
            #expect(same.value == trial.value && same.finishedAt == trial.finishedAt)
        }
        // The killed driver's trials did not train on as orphans (they watch their driver).
        usleep(800_000)
        #expect(processes(mentioning: folder.path).isEmpty, "orphan trial processes: \(processes(mentioning: folder.path))")
    }

    @Test func aKilledGPDriverContinuesExactlyAsTheSamplerDictates() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try writeSweep(folder, launcher: "in_process", trials: 8, sampler: "{name: gp, startup_trials: 2}")
        let arguments = ["sweep", file.path, "--workers", "1", "--dir", folder.appendingPathComponent("study").path]
        let store = folder.appendingPathComponent("study/flock.sqlite")
        var before: [TrialRecord] = []
        for round in 0..<6 {
            let killed = try run(arguments, killAfter: 2 + 0.5 * Double(round))
            before = FileManager.default.fileExists(atPath: store.path) ? try trials(store) : []
            if killed.status == 0 { break }
            #expect(killed.killed && killed.status == SIGKILL, "driver exited with \(killed.status): \(killed.output)")
            if before.filter({ $0.state == .complete }).count >= 3 { break }
        }
        #expect(before.count < 8, "the study finished before it could be interrupted")
        let restarted = try run(arguments)
        #expect(restarted.status == 0, "\(restarted.output)")
        let after = try trials(store)
        #expect(after.count == 8 && after.allSatisfy { $0.state == .complete }, "\(after.map { ($0.number, $0.state) })")

        // Each trial created once (never retried) holds exactly what the sampler makes of the
        // stored trials at its creation: those finished by then as observations, the others
        // as pending. That holds across the kill, so the restarted driver went on exactly.
        let sweep = try SweepConfig.load(path: file.path)
        var checked: [Int] = []
        for trial in after where trial.retries == 0 {
            let created = try #require(trial.startedAt)
            let earlier = after.prefix(trial.number).map { other -> TrialRecord in
                var seen = other
                if other.finishedAt.map({ $0 > created }) ?? true { seen.state = .running }
                return seen
            }
            let history = try SweepDriver.history(Array(earlier), maximize: true)
            let expected = sweep.sampler.suggest(space: sweep.space, history: history, number: trial.number)
            #expect(expected == (try SweepDriver.decode(trial.params)), "trial \(trial.number)")
            checked.append(trial.number)
        }
        #expect(checked.contains { $0 >= before.count }, "no trial created after the restart was checked: \(checked)")
        // Each kill can cost one retried trial (under load, up to six kills happen).
        #expect(checked.count >= 2, "\(checked)")
    }

    /// `max_restarts_per_trial`: each trial is a supervised job; a rank of each trial's first
    /// launch dies (the test hook `FLOCK_FAULT_KILL`) and the trial heals and completes.
    @Test func supervisedTrialsHealALostRank() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sweep = try writeSweep(folder, launcher: "mpirun", trials: 1, extra: "ranks_per_trial: 2\nmax_restarts_per_trial: 1")
        let outcome = try ChildProcess.flock(["sweep", sweep.path, "--dir", folder.appendingPathComponent("study").path],
                                             timeout: 300, environment: ["FLOCK_FAULT_KILL": "1:30"])
        #expect(outcome.status == 0, "\(outcome.output)")
        let store = folder.appendingPathComponent("study/flock.sqlite")
        #expect(try trials(store).map(\.state) == [.complete], "\(outcome.output)")
        let database = try ExperimentStore(path: store.path, readOnly: true)
        let run = try #require(try database.runs().first)
        let restarts = try database.restarts(runID: run.id)
        #expect(restarts.count == 1 && restarts.first?.cause.contains("rank 1") == true, "\(restarts)")
        #expect(processes(mentioning: folder.path).isEmpty)
    }

    @Test func trialsCanBeMPIJobs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sweep = try writeSweep(folder, launcher: "mpirun", trials: 2, extra: "ranks_per_trial: 2")
        let result = try run(["sweep", sweep.path, "--dir", folder.appendingPathComponent("study").path])
        #expect(result.status == 0, "\(result.output)")
        let store = folder.appendingPathComponent("study/flock.sqlite")
        #expect(try trials(store).filter { $0.state == .complete }.count == 2)
        let runs = try ExperimentStore(path: store.path, readOnly: true).runs()
        #expect(runs.count == 2 && runs.allSatisfy { $0.worldSize == 2 })
        let best = try run(["trials", store.path, "--best", "--json"])
        #expect(best.status == 0 && best.output.contains("best_config"))
    }
}
