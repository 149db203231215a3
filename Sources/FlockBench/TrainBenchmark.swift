import FlockNN
import FlockParallel
import FlockSweep
import FlockTensor
import FlockTrain
import Foundation

/// `flock bench train`: one training step of an MLP against the FLOP ceiling of the
/// same step's matrix products, both measured here and now, on the BLAS kernel this
/// process runs and with `threads` BLAS threads. The ceiling's GFLOP/s and the kernel
/// are reported beside the ratio, so a slow kernel cannot hide behind a good ratio.
///
/// The ceiling runs exactly the sgemm calls the step makes (forward x·Wᵀ per layer;
/// backward gᵀ·x per layer and g·W for every layer but the first, whose input needs no
/// gradient), back to back on the same buffers. `ratio = step throughput / ceiling
/// throughput` is the fraction of the step that is matrix multiplication at BLAS speed.
public struct TrainBenchmark {
    public struct Result: Sendable {
        public let model: String
        /// Medians over the pairs.
        public let samplesPerSecond: Double
        public let ceilingSamplesPerSecond: Double
        /// step ÷ ceiling throughput, per interleaved pair.
        public let ratio: PairedRatio
        /// Milliseconds per step spent outside the step's sgemm calls (medians).
        public let overheadMilliseconds: Double
        /// The sgemm calls' speed in the ceiling run (median).
        public let ceilingGFLOPS: Double
        /// The OpenBLAS core that ran (e.g. "Cooperlake"), or oneDNN's bf16 ISA.
        public let kernel: String
        public let threads: Int
        /// The matrix products' inputs in both measurements.
        public let precision: MatrixPrecision

        /// Times `pairs` interleaved (ceiling, step) pairs of `steps` steps each.
        static func measure(model: String, pairs: Int, steps: Int, batchSize: Int, flopsPerStep: Double, threads: Int,
                            precision: MatrixPrecision = .float32, step: () -> Void, ceiling: () -> Void) -> Result {
            var stepTimes: [Double] = [], gemmTimes: [Double] = []
            let ratio = PairedRatio.measure(pairs: pairs, baseline: {
                gemmTimes.append(Stopwatch.seconds { for _ in 0..<steps { ceiling() } } / Double(steps))
                return Double(batchSize) / gemmTimes.last!
            }, candidate: {
                stepTimes.append(Stopwatch.seconds { for _ in 0..<steps { step() } } / Double(steps))
                return Double(batchSize) / stepTimes.last!
            })
            let stepTime = PairedRatio.quantile(stepTimes.sorted(), 0.5), gemmTime = PairedRatio.quantile(gemmTimes.sorted(), 0.5)
            return Result(model: model, samplesPerSecond: Double(batchSize) / stepTime, ceilingSamplesPerSecond: Double(batchSize) / gemmTime,
                          ratio: ratio, overheadMilliseconds: (stepTime - gemmTime) * 1000, ceilingGFLOPS: flopsPerStep / gemmTime / 1e9,
                          kernel: precision == .bf16 ? "oneDNN bf16 \(OneDNN.effectiveISA)" : BLASKernel.coreName,
                          threads: threads, precision: precision)
        }

        public var json: [String: Any] {
            ["model": model, "samples_per_second": samplesPerSecond, "ceiling_samples_per_second": ceilingSamplesPerSecond,
             "ceiling_gflops": ceilingGFLOPS, "kernel": kernel, "threads": threads, "overhead_ms_per_step": overheadMilliseconds,
             "precision": precision.rawValue]
                .merging(ratio.json("ratio")) { $1 }
        }
    }

    public var layerSizes = [784, 512, 512, 10]
    public var batchSize = 128
    public var steps = 60
    /// Interleaved (ceiling, step) pairs.
    public var trials = 5
    /// BLAS threads for both measurements.
    public var threads = 1
    /// The step's and the ceiling's matrix products (`MixedPrecision.resolve` makes bf16 ones).
    public var products = MatrixProducts.float32

    public init() {}

    /// Floating-point operations of the step's sgemm calls: 2·B·in·out for the forward
    /// product and for the weight gradient of every layer, and for the input gradient of
    /// every layer but the first.
    public var flopsPerStep: Double {
        let products = zip(layerSizes, layerSizes.dropFirst()).map { 2.0 * Double(batchSize * $0 * $1) }
        return products.reduce(0) { $0 + 2 * $1 } + products.dropFirst().reduce(0, +)
    }

    public func run() -> Result {
        BLAS.setThreadCount(threads)
        let mlp = SyntheticModel.mlp(layerSizes: layerSizes, batchSize: batchSize)
        mlp.parameters.matrixProducts = products
        let gemms = GemmPlan(layerSizes: layerSizes, batchSize: batchSize, products: products)
        for _ in 0..<5 { mlp.step(); gemms.run() }
        return Result.measure(model: "mlp", pairs: trials, steps: steps, batchSize: batchSize, flopsPerStep: flopsPerStep,
                              threads: threads, precision: products.precision, step: { mlp.step() }, ceiling: { gemms.run() })
    }
}

/// The matrix products of one MLP training step (sgemm, or bf16 ones), on preallocated buffers.
private final class GemmPlan {
    private struct Layer { let inputs: Int; let outputs: Int }
    private let layers: [Layer]
    private let batchSize: Int
    private var activations: [[Float]]
    private var weights: [[Float]]
    private var weightGradients: [[Float]]
    private var inputGradients: [[Float]]
    private let products: MatrixProducts

    init(layerSizes: [Int], batchSize: Int, products: MatrixProducts) {
        self.batchSize = batchSize
        self.products = products
        layers = zip(layerSizes, layerSizes.dropFirst()).map { Layer(inputs: $0, outputs: $1) }
        activations = layerSizes.map { [Float](repeating: 0.5, count: batchSize * $0) }
        weights = layers.map { [Float](repeating: 0.01, count: $0.inputs * $0.outputs) }
        weightGradients = layers.map { [Float](repeating: 0, count: $0.inputs * $0.outputs) }
        inputGradients = layerSizes.map { [Float](repeating: 0.1, count: batchSize * $0) }
    }

    func run() {
        let b = batchSize
        for (i, layer) in layers.enumerated() {
            products.gemm(transposeA: false, transposeB: true, m: b, n: layer.outputs, k: layer.inputs,
                              a: activations[i], lda: layer.inputs, b: weights[i], ldb: layer.inputs,
                              beta: 0, c: &activations[i + 1], ldc: layer.outputs)
        }
        for (i, layer) in layers.enumerated().reversed() {
            products.gemm(transposeA: true, transposeB: false, m: layer.outputs, n: layer.inputs, k: b,
                              a: inputGradients[i + 1], lda: layer.outputs, b: activations[i], ldb: layer.inputs,
                              beta: 1, c: &weightGradients[i], ldc: layer.inputs)
            if i > 0 {
                products.gemm(transposeA: false, transposeB: false, m: b, n: layer.inputs, k: layer.outputs,
                                  a: inputGradients[i + 1], lda: layer.outputs, b: weights[i], ldb: layer.inputs,
                                  beta: 0, c: &inputGradients[i], ldc: layer.inputs)
            }
        }
    }
}
