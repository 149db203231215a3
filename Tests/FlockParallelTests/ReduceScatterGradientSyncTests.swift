import FlockComm
import FlockNN
import FlockTensor
import Foundation
import Testing
@testable import FlockParallel

/// ZeRO stage 2's gradient sync on ranks as threads: after a step each rank holds the
/// average of its own rows and zeros elsewhere, and the transforms that need the whole
/// model's gradients (norm, finite check) reduce over the group.
@Suite struct ReduceScatterGradientSyncTests {
    /// Shapes whose first axes no rank count of 2–4 divides evenly, and a scalar.
    static let shapes: [[Int]] = [[7, 3], [5], [2, 2], []]

    static func store() -> ParameterStore {
        let store = ParameterStore()
        for (index, shape) in shapes.enumerated() { _ = store.register(name: "p\(index)", shape: shape, isDecayed: true) }
        return store
    }

    /// Rank r's gradient of element i: distinct per rank and element.
    static func gradient(rank: Int, index: Int) -> Float { Float(index % 11) * 0.25 + Float(rank) * 1.5 - 2 }

    /// Every rank's gradients after the sync, and the rows each rank owns (flat indices).
    static func synchronize(ranks: Int, bucketBytes: Int, maxInFlightBytes: Int) throws -> [(gradients: [Float], owned: Set<Int>)] {
        try LocalCommunicator.run(ranks: ranks, deadline: 30) { communicator in
            let store = Self.store()
            let sync = ReduceScatterGradientSync(communicator: communicator, bucketBytes: bucketBytes, overlap: true)
            sync.maxInFlightBytes = maxInFlightBytes
            try sync.prepare(parameters: store, model: try Model([.dense(units: 1)], inputShape: [1], seed: 1))
            try sync.beginStep(0)
            _ = try sync.beginMicroBatch(isLast: true, samples: 1)
            store.withGradients { g in for i in g.indices { g[i] = Self.gradient(rank: communicator.rank, index: i) } }
            try sync.finishStep()
            var owned = Set<Int>()
            sync.rows!.forEachOwnedRun { full, _ in owned.formUnion(full) }
            return (store.withGradients { Array($0) }, owned)
        }
    }

    @Test(arguments: [(2, 1 << 20, 1 << 20), (3, 8, 1), (4, 12, 100)])
    func eachRankHoldsTheAverageOfItsRowsAndZerosElsewhere(ranks: Int, bucketBytes: Int, maxInFlightBytes: Int) throws {
        let outcome = try Self.synchronize(ranks: ranks, bucketBytes: bucketBytes, maxInFlightBytes: maxInFlightBytes)
        let count = Self.store().count
        for (rank, result) in outcome.enumerated() {
            for i in 0..<count {
                let average = (0..<ranks).map { Self.gradient(rank: $0, index: i) }.reduce(0, +) / Float(ranks)
                let expected = result.owned.contains(i) ? average : 0
                #expect(abs(result.gradients[i] - expected) < 1e-6, "rank \(rank) element \(i): \(result.gradients[i]) vs \(expected)")
            }
        }
        // Every element is some rank's, and one rank's only.
        #expect(outcome.map(\.owned.count).reduce(0, +) == count)
        #expect(outcome.reduce(Set<Int>()) { $0.union($1.owned) }.count == count)
    }

    /// Clipping by global norm on rows gives each rank its rows of what clipping the whole
    /// averaged gradient gives.
    @Test func clippingOnRowsUsesTheWholeModelsNorm() throws {
        let ranks = 3
        let outcome = try LocalCommunicator.run(ranks: ranks, deadline: 30) { communicator in
            let store = Self.store()
            let rows = OptimizerStateShard(parameters: store, group: communicator, gradientsAreSharded: true)
            var owned = Set<Int>()
            rows.forEachOwnedRun { full, _ in owned.formUnion(full) }
            store.withGradients { g in for i in g.indices { g[i] = owned.contains(i) ? Self.gradient(rank: 0, index: i) : 0 } }
            var update = GradientUpdate(parameters: store, groups: ParameterGroup.grouping(store.slots, scales: [:]),
                                        sharding: WholeModelPlan(), learningRate: 1, lossFinite: true, dataGroupSize: ranks)
            update.gradientRows = rows
            _ = try ClipByGlobalNorm(maxNorm: 1).apply(update)
            return (store.withGradients { Array($0) }, owned)
        }
        let whole = (0..<Self.store().count).map { Self.gradient(rank: 0, index: $0) }
        let norm = whole.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for (gradients, owned) in outcome {
            for i in owned {
                #expect(abs(gradients[i] - whole[i] / (norm + 1e-6)) < 1e-5, "element \(i)")
            }
        }
    }

    /// One rank's non-finite row skips the step on every rank.
    @Test func aNonFiniteRowOnOneRankSkipsEveryRank() throws {
        let decisions = try LocalCommunicator.run(ranks: 2, deadline: 30) { communicator in
            let store = Self.store()
            let rows = OptimizerStateShard(parameters: store, group: communicator, gradientsAreSharded: true)
            var first: Int?
            rows.forEachOwnedRun { full, _ in first = first ?? full.lowerBound }
            store.withGradients { g in if communicator.rank == 1, let first { g[first] = .infinity } }
            var update = GradientUpdate(parameters: store, groups: ParameterGroup.grouping(store.slots, scales: [:]),
                                        sharding: WholeModelPlan(), learningRate: 1, lossFinite: true, dataGroupSize: 2)
            update.gradientRows = rows
            return try SkipNonFiniteStep().apply(update)
        }
        #expect(decisions == [false, false])
    }

    /// Between steps a rank holds its own rows of the gradients and no page of the other
    /// ranks' rows, also when buckets are reported ready out of order (as a ZeRO-3 unit or
    /// a recomputed block reports them): pages readied for a bucket that turns out to be
    /// finished already would stay until the next step.
    @Test func betweenStepsNoPageOfOtherRanksRowsIsResident() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let outcome = try LocalCommunicator.run(ranks: 2, deadline: 30) { communicator in
            // Four weights of 256 KB, one bucket each (bucket 0 is the last slot).
            let store = ParameterStore()
            for index in 0..<4 { _ = store.register(name: "w\(index)", shape: [64, 1024], isDecayed: true) }
            let sync = ReduceScatterGradientSync(communicator: communicator, bucketBytes: 1, overlap: true)
            try sync.prepare(parameters: store, model: try Model([.dense(units: 1)], inputShape: [1], seed: 1))
            var resident: [[Bool]] = []
            for step in 0..<2 {
                try sync.beginStep(step)
                _ = try sync.beginMicroBatch(isLast: true, samples: 1)
                // Buckets 1, 0, 3, 2: each pair's second finished before its first.
                for index in [2, 3, 0, 1] {
                    let slot = store.slots[index]
                    store.withGradients { g in for i in slot.range { g[i] = Self.gradient(rank: communicator.rank, index: i) } }
                    sync.gradientReady(slot)
                }
                try sync.finishStep()
                resident = store.withGradients { g in
                    var pages = [UInt8](repeating: 0, count: g.count * 4 / page)
                    _ = mincore(UnsafeMutableRawPointer(g.baseAddress!), g.count * 4, &pages)
                    return [pages.map { $0 & 1 == 1 }]
                }
            }
            var owned: [Range<Int>] = []
            sync.rows!.forEachOwnedRun { full, _ in owned.append(full) }
            return (resident[0], owned)
        }
        let floatsPerPage = page / 4
        for (rank, (resident, owned)) in outcome.enumerated() {
            for (index, isResident) in resident.enumerated() {
                let pageRange = (index * floatsPerPage)..<((index + 1) * floatsPerPage)
                let own = owned.contains { $0.lowerBound <= pageRange.lowerBound && pageRange.upperBound <= $0.upperBound }
                let others = !owned.contains { $0.overlaps(pageRange) }
                if own { #expect(isResident, "rank \(rank): own page \(index) not resident") }
                if others { #expect(!isResident, "rank \(rank): page \(index) of other ranks' rows resident") }
            }
        }
    }
}
