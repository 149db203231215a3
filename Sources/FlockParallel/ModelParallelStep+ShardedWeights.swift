import FlockNN

/// ZeRO stage 3 on pipeline stages: each data rank of a stage keeps its rows of the
/// stage's weights, and every recomputed layer's are gathered around each forward and each
/// backward (``RecomputedLayer``). A gather is collective over the stage's data group, so
/// every replica of a stage must gather the same layers in the same order, whatever its
/// own samples: each replica runs the schedule of the most pieces any replica cuts its
/// micro-batch into, and a piece it has no samples for is a ghost — its forward and
/// backward make their gathers with nothing computed, its transfers are dropped (the
/// replica's other stages hold the same ghosts, so nothing waits for them).
extension ModelParallelStep {
    /// The pieces every replica's schedule runs for a micro-batch this replica cuts into
    /// `own` pieces: the most over the data group under ZeRO stage 3, else `own`.
    /// Collective over the data group when weights are sharded.
    func piecesRun(own: Int, residency: (any ParameterResidency)?) throws -> Int {
        guard residency != nil, layout.dataParallelSize > 1 else { return own }
        return Int(try layout.dataGroup.allreduce([Int64(own)], operation: .max)[0])
    }

    /// The validated schedule of `count` pieces of which the first `real` hold samples:
    /// the ghosts' transfers dropped on every stage.
    func schedule(for count: Int, real: Int) throws -> PipelineSchedule {
        var schedule = try self.schedule(for: count)
        guard real < count else { return schedule }
        schedule.actions = schedule.actions.map { $0.filter { $0.isCompute || $0.microBatch < real } }
        return schedule
    }

    /// A micro-batch without samples on this replica while others have some: its stage
    /// takes part in their gathers. Collective over the data group.
    public func takePartInGathers(_ residency: any ParameterResidency, model: Model) throws {
        guard let shard else { preconditionFailure("ModelParallelStep used before prepare") }
        let count = try piecesRun(own: 0, residency: residency)
        guard count > 0 else { return }
        for action in try schedule(for: count, real: 0).actions[stage] {
            ghostGathers(action, shard: shard, residency: residency)
        }
    }

    /// The gathers ghost `action` makes: a forward's in layer order, a backward's (whole or
    /// its input part, where a recomputed layer runs again) in reverse.
    func ghostGathers(_ action: PipelineAction, shard: ModelShard, residency: (any ParameterResidency)?) {
        guard let residency else { return }
        switch action {
        case .forward: residency.takePart(in: shard.layers, reversed: false)
        case .backward, .backwardInput: residency.takePart(in: shard.layers, reversed: true)
        case .backwardWeight, .send, .receive: break
        }
    }
}

extension ParameterResidency {
    /// The gathers a forward of `layers` makes (reversed: a backward's), one per recomputed
    /// layer with parameters, each given back at once: nothing is computed.
    public func takePart(in layers: [any Layer], reversed: Bool) {
        // (A closure, not a key path: a key path on `any Layer` here crashes Swift 6.3's IRGen.)
        let units = layers.filter { $0 is RecomputedLayer }.map { $0.allParameters }.filter { !$0.isEmpty }
        for parameters in reversed ? units.reversed() : units {
            gather(parameters)
            release(parameters)
        }
    }
}
