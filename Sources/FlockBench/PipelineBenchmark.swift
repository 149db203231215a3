import FlockComm
import FlockNN
import FlockParallel
import FlockTensor
import FlockTrain
import Foundation

/// `flock bench pipeline`: a stack of equal Dense layers (`layersPerStage` of width
/// `width` per stage, so the stages cost the same) trained on one pipeline per job, one
/// stage per rank, with each schedule at each micro-batch count; then the same model data
/// parallel on the same ranks.
///
/// Measured bubble: with T a step's time from a common start (a barrier) to the last
/// stage's end and c the busiest stage's compute time, 1 − c / T, summed over the timed
/// steps — the schedule's idle share on the stage that sets the pace. (Stages are never
/// quite equal: stage 0 skips the input gradient of its first layer, the last stage adds
/// the loss; the mean idle share over all stages, which counts that imbalance too, is
/// reported beside it.) Theory: (S−1)/(M+S−1) for GPipe and 1F1B; for ZB-H1 the
/// simulator's figure with F = B = W.
///
/// A stage is 8 layers by default: a stage of a model that needs a pipeline does far more
/// work per transferred value than 2 Dense layers (a Transformer block of width h does
/// about 12·h multiply-adds per value of its output, 12288 at h = 1024; 8 Dense 512
/// layers do 4096, 2 do 1024), and with too little work per transfer the fixed cost of
/// each transfer, not the schedule, sets the measured bubble (`--layers-per-stage 2`
/// shows it).
public struct PipelineBenchmark: Sendable {
    public struct Result: Sendable {
        public let schedule: PipelineScheduleKind
        public let microBatches: Int
        public let bubbleMeasured: Double
        /// 1 − Σ stage compute / (S · T): idle share over all stages, imbalance included.
        public let meanIdleShare: Double
        public let bubbleTheory: Double
        /// The simulator's busiest-stage bubble with each stage's measured mean F, B and W
        /// (no transfer cost): what the schedule itself leaves idle on these stages; the
        /// rest of `bubbleMeasured` is transfers and other overhead.
        public let bubbleSimulatedFromMeasuredCosts: Double
        public let samplesPerSecond: Double
        /// Per stage: the most activation bytes it held at once.
        public let peakActivationBytes: [Int]
        /// One micro-batch's activations on the stage that holds the most (for bounds).
        public internal(set) var microBatchActivationBytes: Int
        /// Pipeline samples/s ÷ data-parallel samples/s (same model, ranks and global
        /// batch), per interleaved pair of steps.
        public let versusDataParallel: PairedRatio
    }

    public struct Report: Sendable {
        public let stages: Int
        public let dataParallelSamplesPerSecond: [Int: Double]
        public let results: [Result]
    }

    public var width = 512
    public var layersPerStage = 8
    public var microBatchRows = 128
    public var steps = 20
    public var microBatchCounts = [1, 4, 8, 16]

    public init() {}

    /// Collective over `world`; every rank returns the same report.
    public func run(_ world: any Communicator) throws -> Report {
        BLAS.setThreadCount(1)
        let stages = world.size
        let layout = try ParallelLayout(world: world, pipelineStages: stages)
        var results: [Result] = []
        var dataParallel: [Int: Double] = [:]
        // One micro-batch's activations, from GPipe at M = 1 (measured here only when the
        // list of micro-batch counts leaves it out).
        let singlePeak = microBatchCounts.contains(1) ? nil
            : try measure(layout: layout, schedule: .gpipe, microBatches: 1, rows: microBatchRows).peaks.max() ?? 0
        for microBatches in microBatchCounts {
            for schedule in PipelineScheduleKind.allCases {
                let measured = try measure(layout: layout, schedule: schedule, microBatches: microBatches,
                                           rows: microBatches * microBatchRows)
                let theory = try PipelineSimulator.simulate(schedule.schedule(stages: stages, microBatches: microBatches)).bubbleFraction
                results.append(Result(schedule: schedule, microBatches: microBatches, bubbleMeasured: measured.bubble,
                                      meanIdleShare: measured.meanIdle,
                                      bubbleTheory: theory, bubbleSimulatedFromMeasuredCosts: measured.simulated,
                                      samplesPerSecond: measured.samplesPerSecond,
                                      peakActivationBytes: measured.peaks, microBatchActivationBytes: 0,
                                      versusDataParallel: measured.versusDataParallel))
                if schedule == .oneForwardOneBackward { dataParallel[microBatches] = measured.dataParallel }
            }
        }
        let perMicroBatch = singlePeak ?? results.first { $0.schedule == .gpipe && $0.microBatches == 1 }?.peakActivationBytes.max() ?? 0
        for index in results.indices { results[index].microBatchActivationBytes = perMicroBatch }
        return Report(stages: stages, dataParallelSamplesPerSecond: dataParallel, results: results)
    }

    /// The model: S·layersPerStage Dense layers of `width` (ReLU, the last linear), MSE.
    func makeModel(stages: Int) throws -> Model {
        let layers = (0..<(stages * layersPerStage)).map { index in
            LayerConfig.dense(units: width, activation: index == stages * layersPerStage - 1 ? .linear : .relu)
        }
        return try Model(layers, inputShape: [width], seed: 1)
    }

    func batch(rows: Int) -> MicroBatch {
        var generator = RandomGenerator(seed: 2)
        let values = (0..<(rows * width)).map { _ in generator.nextUniform(-1, 1) }
        return MicroBatch(features: Tensor(shape: [rows, width], scalars: values),
                          targets: Tensor(shape: [rows, width], scalars: values.map { $0 * 0.5 }), gradientScale: 1)
    }

    /// The pipeline's figures over `steps` timed steps, each step paired with a data-parallel
    /// step of the same model and global batch just before it (the samples/s ratio per pair).
    private func measure(layout: ParallelLayout, schedule: PipelineScheduleKind, microBatches: Int, rows: Int) throws
        -> (bubble: Double, meanIdle: Double, simulated: Double, samplesPerSecond: Double, peaks: [Int], versusDataParallel: PairedRatio,
            dataParallel: Double) {
        let world = layout.world
        let model = try makeModel(stages: layout.pipelineStages)
        let step = ModelParallelStep(layout: layout, schedule: schedule, microBatches: microBatches)
        let parts = StepParts.modelParallel(step)
        try parts.prepare(model: model, configHash: 0)
        let baseline = try DataParallelSteps(benchmark: self, world: world, rows: rows)
        let input = batch(rows: rows)
        var generator = RandomGenerator(seed: 3)
        var busy = 0.0, busiest = 0.0, total = 0.0, peak = 0, dataParallelTotal = 0.0
        var passes = PipelineStageProfile()
        func pipelineStep(_ index: Int) throws -> Double {
            try world.barrier()
            _ = try parts.computeGradients([input], loss: .meanSquaredError, step: index, generator: &generator)
            parts.parameters(of: model).zeroGradients()
            return try world.allreduce([step.lastProfile.stageSeconds], operation: .max)[0]
        }
        for index in 0..<2 {
            _ = try pipelineStep(index)
            _ = try baseline.stepSeconds()
        }
        var index = 2
        let versus = try PairedRatio.measure(pairs: steps, baseline: {
            let seconds = try baseline.stepSeconds()
            dataParallelTotal += seconds
            return Double(rows) / seconds
        }, candidate: {
            let slowest = try pipelineStep(index)
            index += 1
            busy += try world.allreduce([step.lastProfile.computeSeconds], operation: .sum)[0]
            busiest += try world.allreduce([step.lastProfile.computeSeconds], operation: .max)[0]
            total += slowest
            peak = max(peak, step.lastProfile.peakActivationBytes)
            passes.passSeconds.merge(step.lastProfile.passSeconds, uniquingKeysWith: +)
            passes.passCounts.merge(step.lastProfile.passCounts, uniquingKeysWith: +)
            return Double(rows) / slowest
        })
        let peaks = try world.allgather([Int64(peak)]).map { Int($0[0]) }
        let stages = Double(layout.pipelineStages)
        let mine = passes.meanCosts
        let stageCosts = try world.allgather([mine.forward, mine.backwardInput, mine.backwardWeight])
            .map { PipelineCosts(forward: $0[0], backwardInput: $0[1], backwardWeight: $0[2]) }
        let simulation = try PipelineSimulator.simulate(schedule.schedule(stages: layout.pipelineStages, microBatches: microBatches),
                                                        stageCosts: stageCosts)
        let simulated = 1 - (simulation.busyTime.max() ?? 0) / simulation.totalTime
        return (max(0, 1 - busiest / total), max(0, 1 - busy / (stages * total)), simulated, Double(rows * steps) / total, peaks,
                versus, Double(rows * steps) / dataParallelTotal)
    }

}

/// The whole model data parallel over the same ranks on the same global batch: the
/// pipeline's baseline, one step at a time.
private final class DataParallelSteps {
    let world: any Communicator
    let model: Model
    let step: StepParts
    let batch: MicroBatch
    var generator = RandomGenerator(seed: 3)
    var index = 0

    init(benchmark: PipelineBenchmark, world: any Communicator, rows: Int) throws {
        self.world = world
        model = try benchmark.makeModel(stages: world.size)
        step = .dataParallel(layout: try ParallelLayout(world: world))
        try step.prepare(model: model, configHash: 0)
        let shard = DistributedSampler.shard(world.rank, of: world.size, count: rows)
        let whole = benchmark.batch(rows: rows)
        batch = MicroBatch(features: whole.features.gatherRows(Array(shard)), targets: whole.targets.gatherRows(Array(shard)),
                           gradientScale: Float(shard.count * world.size) / Float(rows))
    }

    /// One step's seconds on the slowest rank.
    func stepSeconds() throws -> Double {
        try world.barrier()
        let seconds = try Stopwatch.seconds {
            _ = try step.computeGradients([batch], loss: .meanSquaredError, step: index, generator: &generator)
        }
        index += 1
        model.parameters.zeroGradients()
        return try world.allreduce([seconds], operation: .max)[0]
    }
}
