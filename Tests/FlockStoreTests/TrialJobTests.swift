import Foundation
import Testing
@testable import FlockStore

/// Trials whose attempts are batch jobs (launcher: slurm): the job outlives its driver.
@Suite struct TrialJobTests {
    let helper = StudyTrialTests()

    @Test func aLostTrialWithAJobOutIsRequeuedKeepingItsJobWithoutARetry() throws {
        let (store, folder) = try helper.temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try store.registerStudy(helper.study())
        let batch = try helper.claimed(try helper.claim(store, "driverA#0"))
        let plain = try helper.claimed(try helper.claim(store, "driverA#1"))
        #expect(try store.recordTrialJob(study: "s", number: batch.number, job: "4711", state: "PENDING"))
        #expect(try store.recordTrialJob(study: "s", number: batch.number, job: nil, state: "RUNNING"))
        usleep(20_000)
        // Both lost, no retries allowed: the plain one fails, the batch one waits for a driver to take its job over.
        let noRetries = LostTrialPolicy(heartbeatTimeout: 0, maxRetries: 0)
        #expect(try store.requeueLostTrials(study: "s", policy: noRetries) == 2)
        var trials = try store.trials(ofStudy: "s")
        #expect(trials[batch.number].state == .waiting && trials[batch.number].retries == 0 && trials[batch.number].worker == nil)
        #expect(trials[batch.number].job == "4711" && trials[batch.number].jobState == "RUNNING")
        #expect(trials[plain.number].state == .failed)
        // A waiting trial is not running: its job cannot be changed until someone claims it.
        #expect(try !store.recordTrialJob(study: "s", number: batch.number, job: "1", state: "PENDING"))
        let again = try helper.claimed(try helper.claim(store, "driverB#0", policy: noRetries))
        #expect(again.number == batch.number && again.job == "4711")
        // The attempt's end clears the job (the next attempt is a new job) and keeps its last state.
        #expect(try store.recordTrialJob(study: "s", number: batch.number, job: nil, state: "COMPLETED"))
        let finished = try store.finishTrial(id: again.id!, worker: "driverB#0", outcome: .complete(0.5), maxRetries: 0)
        #expect(finished.state == .complete && finished.job == nil && finished.jobState == "COMPLETED")
        // As stored (dates come back at the store's precision).
        let stored = try #require(try store.trial(study: "s", number: batch.number))
        #expect(stored.state == .complete && stored.job == nil && stored.jobState == "COMPLETED" && stored.value == 0.5)
    }
}
