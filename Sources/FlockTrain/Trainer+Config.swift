import FlockComm
import FlockNN
import FlockParallel
import FlockTensor

/// A `TrainingConfig` as a builder of a trainer's parts.
extension TrainingConfig {
    /// The model of `model:` for per-sample inputs of `inputShape`, initialized from the
    /// config's seed. With `holdingValues: false`, only its description (names, shapes,
    /// initializations; no memory for values): what a model-parallel rank builds its
    /// shard from.
    public func makeModel(inputShape: [Int], holdingValues: Bool = true) throws -> Model {
        let generator = RandomGenerator(seed: UInt64(seed), stream: Model.initializationStream)
        if let graph = graphToBuild {
            return try Model(graph: graph, featureShape: inputShape, generator: generator,
                             parameters: ParameterStore(holdsValues: holdingValues))
        }
        return try Model(layersToBuild, inputShape: inputShape, generator: generator,
                         parameters: ParameterStore(holdsValues: holdingValues))
    }

    /// `model:` with `parallel.recompute: blocks` applied; under `zero: 3` every top-level
    /// layer with parameters is the unit whose parameters are gathered around each use
    /// (run forward again in backward only where recomputed).
    var layersToBuild: [LayerConfig] {
        guard parallel.recompute == .blocks || parallel.zero == 3 else { return model }
        return model.map { layer in
            var layer = layer
            if parallel.recompute == .blocks && ParallelConfig.Recompute.blockTypes.contains(layer.type) { layer.recompute = true }
            layer.gathersParameters = parallel.zero == 3
            return layer
        }
    }

    /// `model:`'s graph; under `zero: 3` every layer with parameters of every node is the
    /// unit whose parameters are gathered around each use (a shared node's around each of its).
    var graphToBuild: ModelGraphConfig? {
        guard var graph, parallel.zero == 3 else { return graph }
        for index in graph.nodes.indices {
            graph.nodes[index].layers = graph.nodes[index].layers?.map { layer in
                var layer = layer
                layer.gathersParameters = true
                return layer
            }
        }
        return graph
    }

    /// Whether a rank starts from the model's description alone: under model parallelism
    /// each rank makes only its shard's initial values, unless the whole model's values
    /// are needed first (`init_from` loads them, but at zero 3 each rank reads its own rows
    /// after start-up; partitioning by profiled time runs them).
    var startsFromShards: Bool {
        parallel.isModelParallel && (initFrom == nil || parallel.zero == 3) && parallel.partition.partitioning != .time
    }

    /// The loop's options; `trainingSamples` sets the steps per epoch that warm-up needs.
    public func makeOptions(trainingSamples: Int) throws -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = data.batchSize
        options.evalBatchSize = data.evalBatchSize
        options.shuffle = data.shuffle
        options.seed = UInt64(seed)
        options.learningRate = optimizer.lr
        options.accumulate = parallel.accumulate
        options.zeroStage = parallel.zero
        options.prefetchesParameters = parallel.prefetch
        let stepsPerEpoch = options.stepsPerEpoch(sampleCount: trainingSamples)
        options.schedule = try schedule.makeSchedule(stepsPerEpoch: stepsPerEpoch, path: "schedule")
        for (index, phase) in (phases ?? []).enumerated() {
            options.phaseSchedules[phase.name] = try phase.schedule?.makeSchedule(stepsPerEpoch: stepsPerEpoch, path: "phases[\(index)].schedule")
        }
        options.metrics = resolvedMetrics
        options.penalty = regularization.penalty
        options.maxNorm = regularization.maxNorm.map { MaxNormConstraint(maxNorm: Float($0)) }
        options.weightNoise = regularization.weightNoise.flatMap { $0 > 0 ? WeightNoise(standardDeviation: Float($0)) : nil }
        options.clipValue = gradientClipping.maxValue.map(Float.init)
        options.clipNorm = gradientClipping.maxNorm.map(Float.init)
        // elastic.snapshot_every_steps is held in memory by a supervisor's keepers (see
        // `MemorySnapshotSender`); disk checkpoints stay as callbacks.model_checkpoint says.
        options.checkpointing = callbacks.modelCheckpoint
        options.nonFinite = callbacks.terminateOnNaN
        options.identity = try ConfigLoader.yaml(of: self)
        options.balancedSampling = data.sampling == .balanced
        options.precision = precision ?? .float32
        options.matrixKernels = matrixKernels ?? .auto
        options.augmentation = try data.augment?.augmentation(featureShape: data.resolvedShape ?? [], loss: loss, path: "data.augment")
        return options
    }

    /// The step's parts: one rank alone without a communicator (or with a one-rank one);
    /// data parallel over `communicator`, or model parallel when `parallel` names pipeline
    /// stages or tensor slices. Collective.
    public func makeStepParts(communicator: (any Communicator)?) throws -> StepParts {
        guard let communicator, communicator.size > 1 else {
            guard !parallel.isModelParallel else {
                throw ConfigError(path: "parallel", "\(ParallelLayout.describe(pipelineStages: parallel.pipeline, tensorWidth: parallel.tensor)) need at least \(parallel.pipeline * parallel.tensor) ranks (mpirun -np N or --ranks N); this job has one")
            }
            return .singleRank(ModelStep(phases: try makePhases()))
        }
        if let timeout = parallel.collectiveTimeout { communicator.deadline = timeout }
        let layout: ParallelLayout
        do {
            layout = try ParallelLayout(world: communicator, pipelineStages: parallel.pipeline, tensorWidth: parallel.tensor)
        } catch let error as ParallelLayout.LayoutError {
            throw ConfigError(path: "parallel", error.description)
        }
        if let graph, parallel.isModelParallel {
            // Stages and tensor slices split a chain of layers; a graph's nodes branch and merge.
            let node = graph.nodes.first { $0.inputs.count > 1 || $0.shares != nil } ?? graph.nodes[0]
            throw ConfigError(path: "parallel", "pipeline and tensor parallelism split a layer list; model node '\(node.name)' cannot be split (\(node.op == nil && node.inputs.count == 2 ? "it attends to \(node.inputs[1])" : node.inputs.count > 1 ? "it merges \(node.inputs.joined(separator: ", "))" : node.shares != nil ? "it shares \(node.shares!)'s layers" : "a graph model")): train it data parallel (pipeline: 1, tensor: 1)")
        }
        if phases != nil, parallel.isModelParallel {
            throw ConfigError(path: "phases", "phases run with data parallelism only (pipeline: 1, tensor: 1)")
        }
        guard parallel.isModelParallel else {
            return .dataParallel(layout: layout, step: ModelStep(phases: try makePhases()), bucketBytes: parallel.bucketBytes,
                                 overlap: parallel.overlap, compression: parallel.compression,
                                 shardsGradients: parallel.zero >= 2, shardsParameters: parallel.zero >= 3)
        }
        let microBatchRows = data.batchSize / max(1, layout.dataParallelSize * parallel.microBatches)
        return .modelParallel(ModelParallelStep(layout: layout, schedule: parallel.schedule, microBatches: parallel.microBatches,
                                                partitioning: parallel.partition.partitioning, bucketBytes: parallel.bucketBytes,
                                                profileRows: microBatchRows),
                             shardsGradients: parallel.zero >= 2, shardsParameters: parallel.zero >= 3)
    }
}

extension Trainer {
    /// Builds every part from `config`: reads the data, builds the model, checks that its
    /// output fits the loss, and prepares the step's parts over `communicator` (nil: one
    /// process). Throws `DataError` or `ConfigError` naming what is wrong, before any
    /// training starts. With a communicator this is collective.
    /// `preprocessing` (a checkpoint's) is applied to the data instead of fitting it anew.
    public convenience init(config: TrainingConfig, communicator: (any Communicator)? = nil,
                            preprocessing: Preprocessing? = nil) throws {
        try config.validate()
        let data = try TrainingData(config: config, fitted: preprocessing).withTeacherLogits(config: config)
        // Zero 2 and 3 start from a description too: their gradient sync gives it storage
        // (zero 3 loads init_from into each rank's rows after start-up).
        let zeroFromDescription = config.parallel.zero >= 2 && !config.parallel.isModelParallel
            && (config.initFrom == nil || config.parallel.zero == 3)
        let shardOnly = (config.startsFromShards || zeroFromDescription) && (communicator?.size ?? 1) > 1
        let optimizer = try config.optimizer.makeOptimizer(path: "optimizer")
        if !(config.startsFromShards && (communicator?.size ?? 1) > 1) {
            // Every rank will hold the whole model (or its rows, zero 3): one whose state
            // cannot fit is refused before its weights are allocated.
            let described = try config.makeModel(inputShape: data.training.featureShape, holdingValues: false).parameters
            var estimate = MemoryEstimate(parameters: described.count, buffers: described.stateCount - described.count,
                                          optimizerValuesPerParameter: optimizer.stateValuesPerParameter,
                                          activationBytes: 0, dataBytes: 0, available: Self.availablePerRank(world: communicator))
            let dataRanks = (communicator?.size ?? 1) / (config.parallel.pipeline * config.parallel.tensor)
            if config.parallel.zero >= 1 { estimate.optimizerShards = dataRanks }
            if config.parallel.zero >= 2 { estimate.gradientShards = dataRanks }
            if config.parallel.zero >= 3 { estimate.parameterShards = dataRanks }
            try Self.checkEveryRankFits(estimate, world: communicator)
        }
        let model = try config.makeModel(inputShape: data.training.featureShape, holdingValues: !shardOnly)
        // A stage's tape would drop a loss term its layer adds (the term may sit on another
        // stage than the loss): refused rather than trained without it.
        if config.parallel.isModelParallel, config.graph == nil, let adding = model.namedLayers.first(where: { $0.layer.addsLosses && $0.layer.children.isEmpty }) {
            throw ConfigError(path: "parallel", "\(adding.path) adds its own loss term (a sampling layer's KL), which pipeline and tensor parallelism do not carry yet: train it data parallel (pipeline: 1, tensor: 1)")
        }
        // Before the parts shard or broadcast the model: every rank loads the same values.
        // A description (zero 3) has none yet: each rank loads its own rows once built.
        let initialization = try model.parameters.holdsValues ? config.initFrom.map { try InitializationReport.initialize(model, from: $0) } : nil
        let loss = try config.makeLoss()
        for (index, phase) in zip(config.phases ?? [], try config.makePhases()).enumerated().map({ ($0.offset, $0.element) })
        where !model.parameters.slots.contains(where: { phase.1.updates($0.name) }) {
            let phase = phase.0
            throw ConfigError(path: "phases[\(index)].parameters", "no parameter path starts with \(phase.prefixes.joined(separator: " or ")) (parameters: \(model.parameters.slots.map(\.name).joined(separator: ", ")))")
        }
        try self.init(model: model, data: data, loss: loss, optimizer: optimizer,
                      callbacks: config.callbacks.epochEndCallbacks,
                      step: try config.makeStepParts(communicator: communicator),
                      options: try config.makeOptions(trainingSamples: data.training.count))
        initializationReport = try initialization ?? config.initFrom.map(initializeOwnPart)
    }
}
