import FlockComm
import FlockTensor
import Testing
@testable import FlockParallel

@Suite struct ParallelLayoutTests {
    @Test func ranksAreTensorFastestThenDataThenPipeline() {
        // 8 ranks: 2 pipeline stages × 2 data replicas × 2 tensor slices.
        let expected: [(data: Int, pipeline: Int, tensor: Int)] = [
            (0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 0, 1), (0, 1, 0), (0, 1, 1), (1, 1, 0), (1, 1, 1),
        ]
        for (rank, coordinates) in expected.enumerated() {
            let found = ParallelLayout.coordinates(ofRank: rank, dataParallelSize: 2, tensorWidth: 2)
            #expect(found == ParallelLayout.Coordinates(data: coordinates.data, pipeline: coordinates.pipeline,
                                                        tensor: coordinates.tensor), "rank \(rank)")
        }
    }

    @Test func eachGroupHoldsTheRanksThatShareTheOtherCoordinates() throws {
        // Per rank: coordinates, group sizes and ranks, and the sum of world ranks in each group.
        let results = try LocalCommunicator.run(ranks: 8, deadline: 30) { world -> [Int] in
            let layout = try ParallelLayout(world: world, pipelineStages: 2, tensorWidth: 2)
            var sums: [Int] = []
            for group in [layout.dataGroup, layout.pipelineGroup, layout.tensorGroup] {
                sums.append(Int(try group.allreduce([Double(world.rank)], operation: .sum)[0]))
            }
            let c = layout.coordinates
            return [c.data, c.pipeline, c.tensor, layout.dataGroup.rank, layout.pipelineGroup.rank,
                    layout.tensorGroup.rank, layout.dataGroup.size, layout.pipelineGroup.size, layout.tensorGroup.size,
                    layout.worldRank(of: c)] + sums
        }
        // Hand-computed: data groups {0,2} {1,3} {4,6} {5,7}; pipeline groups {0,4} {1,5} {2,6} {3,7};
        // tensor groups {0,1} {2,3} {4,5} {6,7}.
        let dataSums = [2, 4, 2, 4, 10, 12, 10, 12]
        let pipelineSums = [4, 6, 8, 10, 4, 6, 8, 10]
        let tensorSums = [1, 1, 5, 5, 9, 9, 13, 13]
        for rank in 0..<8 {
            let r = results[rank]
            #expect(Array(r[3..<6]) == [r[0], r[1], r[2]], "group ranks are the varying coordinate on rank \(rank)")
            #expect(Array(r[6..<9]) == [2, 2, 2])
            #expect(r[9] == rank)
            #expect(Array(r[10..<13]) == [dataSums[rank], pipelineSums[rank], tensorSums[rank]], "rank \(rank)")
        }
    }

    @Test func sizesThatDoNotDivideTheWorldAreRejected() throws {
        let messages = try LocalCommunicator.run(ranks: 3, deadline: 30) { world -> String in
            do { _ = try ParallelLayout(world: world, pipelineStages: 2); return "" } catch { return "\(error)" }
        }
        #expect(messages.allSatisfy { $0 == "3 ranks do not split into 2 pipeline stages × 1 tensor slice (the world must be a multiple of pipeline × tensor)" })
    }

    /// A store whose only parameter has `width` columns.
    static func store(width: Int) -> ParameterStore {
        let store = ParameterStore()
        store.register(name: "layers.0.weight", shape: [2, width], isDecayed: true)
        return store
    }

    @Test func stagesMayHoldDifferentModelsButReplicasMayNot() throws {
        // 4 ranks, 2 pipeline stages: ranks 0,1 are stage 0 (data group {0,1}), ranks 2,3 stage 1.
        let agreeing = try LocalCommunicator.run(ranks: 4, deadline: 30) { world -> String in
            let layout = try ParallelLayout(world: world, pipelineStages: 2)
            let store = Self.store(width: layout.coordinates.pipeline == 0 ? 3 : 5)
            do { try ModelConsistency.verify(store, configHash: 42, layout: layout); return "ok" } catch { return "\(error)" }
        }
        #expect(agreeing == ["ok", "ok", "ok", "ok"])

        // Rank 3 (stage 1, replica 1) holds another width than rank 2: every rank fails.
        let disagreeing = try LocalCommunicator.run(ranks: 4, deadline: 30) { world -> String in
            let layout = try ParallelLayout(world: world, pipelineStages: 2)
            let store = Self.store(width: world.rank == 3 ? 7 : layout.coordinates.pipeline == 0 ? 3 : 5)
            do { try ModelConsistency.verify(store, configHash: 42, layout: layout); return "ok" } catch { return "\(error)" }
        }
        #expect(disagreeing[2] == "ranks hold different models: parameter layers.0.weight has shape [2, 5] on rank 2 but [2, 7] on rank 3")
        #expect(disagreeing[3] == disagreeing[2])
        #expect(disagreeing[0] == "ranks hold different models (rank 2 reports which parameter differs)")
        #expect(disagreeing[1] == disagreeing[0])
    }

    @Test func aRankWithAnotherConfigFailsEverywhere() throws {
        let messages = try LocalCommunicator.run(ranks: 2, deadline: 30) { world -> String in
            let layout = try ParallelLayout(world: world)
            do {
                try ModelConsistency.verify(Self.store(width: 3), configHash: world.rank == 1 ? 7 : 42, layout: layout)
                return "ok"
            } catch { return "\(error)" }
        }
        #expect(messages == Array(repeating: "ranks were started with different configs: ranks 1 differ from rank 0", count: 2))
    }
}
