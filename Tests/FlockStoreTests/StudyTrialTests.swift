import Foundation
import Testing
@testable import FlockStore

/// The store's study/trial API on real SQLite files: what a sweep driver asks of it.
@Suite struct StudyTrialTests {
    func temporaryStore() throws -> (ExperimentStore, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("study-\(UUID().uuidString)")
        return (try ExperimentStore(path: folder.appendingPathComponent("flock.sqlite").path), folder)
    }

    func study(_ name: String = "s", definition: String = "space: [a]") -> StudyRecord {
        StudyRecord(name: name, definition: definition, base: "seed: 1", direction: "minimize")
    }

    /// Claims for `worker`, creating trials with params `{"n": <number>}` while fewer than `budget` exist.
    func claim(_ store: ExperimentStore, _ worker: String, budget: Int = 100,
               policy: LostTrialPolicy = LostTrialPolicy(heartbeatTimeout: 3600, maxRetries: 1)) throws -> TrialClaim {
        try store.claimTrial(study: "s", worker: worker, policy: policy) { _, trials in
            trials.count < budget ? NewTrial(params: "{\"n\":\(trials.count)}", runDirectory: "/t/\(trials.count)") : nil
        }
    }

    func claimed(_ claim: TrialClaim) throws -> TrialRecord {
        guard case let .claimed(trial) = claim else { throw StoreError(path: "-", reason: "expected a trial, got \(claim)") }
        return trial
    }

    @Test func aStudyIsRegisteredOnceAndTheStoredOneIsReturned() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try store.registerStudy(study(definition: "first")).definition == "first")
        // A second registration (another driver, another definition) gets the stored study back.
        #expect(try store.registerStudy(study(definition: "second")).definition == "first")
        usleep(5_000)  // a later creation time (stored to the millisecond)
        _ = try store.registerStudy(study("newer", definition: "third"))
        #expect(try store.study(named: "s")?.study.definition == "first")
        #expect(try store.study(named: nil)?.study.name == "newer")
        #expect(try store.study(named: "absent") == nil)
    }

    @Test func claimsTakeWaitingTrialsFirstThenCreateNumberedOnes() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try store.registerStudy(study())
        let first = try claimed(try claim(store, "w#0"))
        let second = try claimed(try claim(store, "w#1"))
        #expect(first.number == 0 && first.state == .running && first.worker == "w#0" && first.params == "{\"n\":0}")
        #expect(first.runDirectory == "/t/0" && first.heartbeat != nil && first.startedAt != nil)
        #expect(second.number == 1 && second.worker == "w#1")
        // Trial 0 fails with a retry left: it waits again, and the next claim takes it rather than creating trial 2.
        let storedStart = try store.trials(ofStudy: "s")[0].startedAt
        let failed = try store.finishTrial(id: first.id!, worker: "w#0", outcome: .failed("boom"), maxRetries: 1)
        #expect(failed.state == .waiting && failed.retries == 1 && failed.error == "boom" && failed.worker == nil)
        let retried = try claimed(try claim(store, "w#2"))
        #expect(retried.id == first.id && retried.number == 0 && retried.worker == "w#2" && retried.retries == 1)
        #expect(retried.startedAt == storedStart)
        // Budget spent while trial 1 still runs: wait; once nothing runs: done.
        #expect(try claim(store, "w#3", budget: 2) == .wait)
        _ = try store.finishTrial(id: second.id!, worker: "w#1", outcome: .complete(2.5), maxRetries: 1)
        _ = try store.finishTrial(id: first.id!, worker: "w#2", outcome: .complete(1.5), maxRetries: 1)
        #expect(try claim(store, "w#3", budget: 2) == .done)
        #expect(try store.trials(ofStudy: "s").map(\.value) == [1.5, 2.5])
    }

    @Test func workersOnTwoConnectionsNeverClaimOneTrialTwice() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try store.registerStudy(study())
        let stores = [store, try ExperimentStore(path: store.path)]
        let claims = ClaimLog()
        let group = DispatchGroup()
        for worker in 0..<6 {
            group.enter()
            Thread {
                let mine = stores[worker % 2]
                do {
                    while case let .claimed(trial) = try claim(mine, "w#\(worker)", budget: 30) {
                        claims.add(trial.number)
                        _ = try mine.finishTrial(id: trial.id!, worker: "w#\(worker)", outcome: .complete(Double(trial.number)),
                                                 maxRetries: 0)
                    }
                } catch { claims.fail(error) }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(claims.errors.isEmpty, "\(claims.errors)")
        #expect(claims.numbers.sorted() == Array(0..<30))
        let trials = try store.trials(ofStudy: "s")
        #expect(trials.map(\.number) == Array(0..<30))
        #expect(trials.allSatisfy { $0.state == .complete && $0.value == Double($0.number) && $0.worker == nil })
    }

    @Test func intermediateValuesComeBackAsEveryTrialsCurve() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try store.registerStudy(study())
        let zero = try claimed(try claim(store, "w#0")), one = try claimed(try claim(store, "w#1"))
        _ = try claimed(try claim(store, "w#2"))  // trial 2 reports nothing
        _ = try store.recordIntermediateValue(trialID: zero.id!, step: 1, value: 0.5)
        _ = try store.recordIntermediateValue(trialID: zero.id!, step: 2, value: 0.3)
        _ = try store.finishTrial(id: zero.id!, worker: "w#0", outcome: .complete(0.3), maxRetries: 0)
        _ = try store.recordIntermediateValue(trialID: one.id!, step: 1, value: 0.9)
        // Step 1 reported again (a resumed trial) replaces the old value.
        let curves = try store.recordIntermediateValue(trialID: one.id!, step: 1, value: 0.75)
        #expect(curves == [TrialCurveRecord(number: 0, state: .complete, values: [1: 0.5, 2: 0.3]),
                           TrialCurveRecord(number: 1, state: .running, values: [1: 0.75])])
        #expect(try store.curves(ofStudy: "s") == curves)
        #expect(throws: StoreError.self) { try store.recordIntermediateValue(trialID: 999, step: 1, value: 0) }
    }

    @Test func heartbeatsKeepTrialsAliveAndStaleOnesAreRequeuedThenFailed() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try store.registerStudy(study())
        let a = try claimed(try claim(store, "driverA#0")), b = try claimed(try claim(store, "driverB#0"))
        let before = try store.trials(ofStudy: "s")
        usleep(20_000)
        #expect(try store.heartbeat(workerPrefix: "driverA#") == 1)
        var trials = try store.trials(ofStudy: "s")
        #expect(trials[0].heartbeat! > before[0].heartbeat! && trials[0].heartbeat! > a.heartbeat!)
        #expect(trials[1].heartbeat == before[1].heartbeat && b.number == 1)
        // Nothing is stale within an hour; with no timeout both are, and each has one retry.
        #expect(try store.requeueLostTrials(study: "s", policy: LostTrialPolicy(heartbeatTimeout: 3600, maxRetries: 1)) == 0)
        usleep(20_000)
        #expect(try store.requeueLostTrials(study: "s", policy: LostTrialPolicy(heartbeatTimeout: 0, maxRetries: 1)) == 2)
        trials = try store.trials(ofStudy: "s")
        #expect(trials.allSatisfy { $0.state == .waiting && $0.retries == 1 && $0.worker == nil && $0.error == nil })
        // A late end from the worker that lost its trial changes nothing.
        #expect(try store.finishTrial(id: a.id!, worker: "driverA#0", outcome: .complete(1), maxRetries: 1).state == .waiting)
        // Claimed again and lost again with the retry spent: failed, saying why.
        let again = try claimed(try claim(store, "driverC#0"))
        #expect(again.number == 0)
        usleep(20_000)
        let spent = LostTrialPolicy(heartbeatTimeout: 0, maxRetries: 1)
        #expect(try claimed(try claim(store, "driverC#1", policy: spent)).number == 1)
        trials = try store.trials(ofStudy: "s")
        #expect(trials[0].state == .failed && trials[0].finishedAt != nil)
        #expect(trials[0].error == "its driver stopped (no heartbeat for 0 s) and max_retries is spent")
        #expect(trials[1].state == .running && trials[1].worker == "driverC#1")
    }

    @Test func finishingRecordsEachEndState() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try store.registerStudy(study())
        let ids = try (0..<3).map { try claimed(try claim(store, "w#\($0)")).id! }
        let complete = try store.finishTrial(id: ids[0], worker: "w#0", outcome: .complete(0.25), maxRetries: 2)
        let pruned = try store.finishTrial(id: ids[1], worker: "w#1", outcome: .pruned(nil), maxRetries: 2)
        // Another worker's end is ignored; the holder's failure with no retries left is final.
        #expect(try store.finishTrial(id: ids[2], worker: "w#0", outcome: .complete(1), maxRetries: 0).state == .running)
        let failed = try store.finishTrial(id: ids[2], worker: "w#2", outcome: .failed("diverged"), maxRetries: 0)
        #expect(complete.state == .complete && complete.value == 0.25 && complete.worker == nil && complete.finishedAt != nil)
        #expect(pruned.state == .pruned && pruned.value == nil && pruned.finishedAt != nil)
        #expect(failed.state == .failed && failed.error == "diverged" && failed.retries == 0 && failed.value == nil)
        let stored = try #require(try store.study(named: "s")).trials
        #expect(stored.map(\.state) == [.complete, .pruned, .failed] && stored.map(\.value) == [0.25, nil, nil])
    }
}

/// Trial numbers claimed and errors hit, from several threads.
private final class ClaimLog: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed: [Int] = []
    private var failures: [any Error] = []
    func add(_ number: Int) { lock.lock(); claimed.append(number); lock.unlock() }
    func fail(_ error: any Error) { lock.lock(); failures.append(error); lock.unlock() }
    var numbers: [Int] { lock.lock(); defer { lock.unlock() }; return claimed }
    var errors: [any Error] { lock.lock(); defer { lock.unlock() }; return failures }
}
