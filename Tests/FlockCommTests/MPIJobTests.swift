import FlockTestSupport
import Foundation
import Testing

/// `mpirun` jobs of `flock-mpi-check`, launched as child processes under a timeout so a
/// hang fails the test instead of blocking the suite.
@Suite(.serialized) struct MPIJobTests {
    func mpirun(ranks: Int, _ mode: String, environment: [String: String] = [:], timeout: TimeInterval = 180) throws -> ChildProcess.Outcome {
        try ChildProcess.mpirun(["-np", "\(ranks)", ChildProcess.built("flock-mpi-check").path, mode],
                                timeout: timeout, environment: environment)
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

    @Test func aNonblockingAllreduceTimesOutNamingTheStepItStartedAt() throws {
        let outcome = try mpirun(ranks: 3, "silent-nonblocking", environment: ["FLOCK_COLLECTIVE_TIMEOUT": "2"], timeout: 120)
        #expect(!outcome.timedOut && outcome.status != 0)
        #expect(outcome.output.contains("collective #1, step 7: timed out after 2 s waiting for rank 1"), "\(outcome.output)")
    }

    @Test func aKilledRankEndsTheWholeJob() throws {
        let outcome = try mpirun(ranks: 3, "killed", timeout: 120)
        #expect(!outcome.timedOut && outcome.status != 0)
        #expect(outcome.output.contains("exited on signal 9"), "\(outcome.output)")
        #expect(!outcome.output.contains("no error"))
    }
}
