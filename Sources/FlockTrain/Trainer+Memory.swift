import FlockComm
import FlockNN
import FlockParallel
import Foundation

/// The start-up memory estimate of a trainer's rank.
extension Trainer {
    /// This rank's estimate: the parameters and buffers it holds after the plan has
    /// sharded the model, the layers it runs for its share of a batch.
    static func memoryEstimate(model: Model, parts: StepParts, optimizer: any Optimizer, data: TrainingData,
                               options: TrainingOptions) -> MemoryEstimate {
        let store = parts.parameters(of: model)
        let shard = (parts.sharding as? ModelShardingPlan)?.shard
        let rows = max(1, options.batchSize / max(1, parts.dataGroupSize))
        let dataBytes = MemoryEstimate.dataBytes(of: data.training) + MemoryEstimate.dataBytes(of: data.validation)
        var estimate = MemoryEstimate(parameters: store.count, buffers: store.stateCount - store.count,
                                      optimizerValuesPerParameter: optimizer.stateValuesPerParameter,
                                      activationBytes: MemoryEstimate.activationBytes(of: shard?.layers ?? model.topLayers, rows: rows),
                                      dataBytes: dataBytes, available: availablePerRank(world: parts.world))
        if options.zeroStage >= 1 { estimate.optimizerShards = parts.dataGroupSize }
        if options.zeroStage >= 2 { estimate.gradientShards = parts.dataGroupSize }
        if options.zeroStage >= 3 { estimate.parameterShards = parts.dataGroupSize }
        return estimate
    }

    /// What one rank may use: ranks as threads share their process's limit; MPI ranks on
    /// a node share its available memory (`OMPI_COMM_WORLD_LOCAL_SIZE`).
    static func availablePerRank(world: (any Communicator)?) -> Int? {
        let inProcess = world is LocalCommunicator ? world!.size : 1
        let onNode = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? inProcess
        return AvailableMemory.current().perRank(ranksInProcess: inProcess, ranksOnNode: onNode)
    }

    /// Throws on every rank when some rank's estimate cannot fit (collective, so no rank
    /// waits on one that has stopped): its own error, or one naming the ranks that cannot.
    static func checkEveryRankFits(_ estimate: MemoryEstimate, world: (any Communicator)?) throws {
        var failure: (any Error)?
        do { try estimate.check() } catch { failure = error }
        guard let world, world.size > 1 else { if let failure { throw failure }; return }
        let fits = try world.allgather([Int32(failure == nil ? 1 : 0)]).map { $0[0] == 1 }
        if let failure { throw failure }
        let short = fits.indices.filter { !fits[$0] }
        guard short.isEmpty else {
            throw ConfigError(path: "parallel", "rank\(short.count == 1 ? "" : "s") \(short.map(String.init).joined(separator: ", ")) cannot fit \(short.count == 1 ? "its" : "their") training state in memory (see \(short.count == 1 ? "its" : "their") error)")
        }
    }
}
