import Foundation
import Testing
@testable import FlockComm
import FlockParallel

/// A rank that dies in a pipeline × data layout of thread ranks (`--ranks`): its peers
/// waiting in a data group's allreduce or a pipeline group's receive learn of it as the
/// world does (`peerFailed` naming it), instead of waiting out the collective deadline.
@Suite struct SubGroupFailureTests {
    struct RankDied: Error, CustomStringConvertible { var description: String { "rank died" } }

    /// What each surviving rank's wait ended with.
    final class Endings: @unchecked Sendable {
        private let lock = NSLock()
        private var byRank: [Int: CommunicatorError] = [:]
        private var waiting = Set<Int>()
        func enter(_ rank: Int) { lock.lock(); waiting.insert(rank); lock.unlock() }
        var entered: Set<Int> { lock.lock(); defer { lock.unlock() }; return waiting }
        func set(_ rank: Int, _ error: CommunicatorError) { lock.lock(); byRank[rank] = error; lock.unlock() }
        var all: [Int: CommunicatorError] { lock.lock(); defer { lock.unlock() }; return byRank }
    }

    /// Ranks 0, 1 are stage 0 and ranks 2, 3 stage 1 (data 2 × pipeline 2). Rank 3 dies
    /// after the groups are made: rank 2 waits for it in their data group's allreduce, rank 1
    /// for a pipeline message from it. The deadline (20 s) is what they would wait without
    /// the failure reaching their groups; they must end by `peerFailed`, never `timedOut`.
    @Test func aDeadRankReleasesPeersWaitingInTheirPipelineAndDataGroups() throws {
        let endings = Endings()
        #expect(throws: RankDied.self) {
            _ = try LocalCommunicator.run(ranks: 4, deadline: 20) { world in
                let layout = try ParallelLayout(world: world, pipelineStages: 2)
                if world.rank == 3 {
                    // Dies once its peers wait for it in their groups (so none meets the
                    // failure in the world's own collectives first).
                    while !endings.entered.isSuperset(of: [1, 2]) { usleep(1_000) }
                    usleep(100_000)
                    throw RankDied()
                }
                endings.enter(world.rank)
                do {
                    var value: [Float] = [1]
                    if layout.coordinates.pipeline == 1 {
                        try value.withUnsafeMutableBufferPointer { try layout.dataGroup.allreduce($0, operation: .sum) }
                    } else if layout.coordinates.data == 1 {
                        try value.withUnsafeMutableBufferPointer { try layout.pipelineGroup.receive($0, from: 1, tag: 7) }
                    }
                } catch let error as CommunicatorError {
                    endings.set(world.rank, error)
                    throw error
                }
            }
        }
        let ended = endings.all
        #expect(Set(ended.keys) == [1, 2], "\(ended)")
        for (rank, error) in ended {
            guard case .peerFailed(let reason) = error.reason else {
                Issue.record("rank \(rank) ended by \(error), not by learning that rank 3 failed")
                continue
            }
            #expect(reason.contains("rank 3 failed: rank died"), "\(reason)")
        }
    }
}
