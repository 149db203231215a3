import FlockNN
import FlockTensor

/// `flock bench train --model lstm`: one training step of an LSTM on waveform-shaped
/// sequences against the FLOP ceiling of the same step's matrix products, measured here
/// and now with `threads` BLAS threads.
///
/// The model (issue 31): inputs (T 32, 1 value a step, as `examples/sequence-lstm.yaml`'s
/// waveforms), LSTM 256 units (last hidden state), dense 256→3; batch 32, SGD with
/// momentum. The ceiling runs the step's products back to back: the input projection of
/// all steps at once, per step the recurrent h·W_hhᵀ (forward, weight and input
/// gradients), and the head.
public struct LSTMBenchmark {
    public var batchSize = 32
    public var steps = 10
    public var trials = 5
    /// BLAS threads for both measurements.
    public var threads = 1
    /// The step's and the ceiling's matrix products.
    public var products = MatrixProducts.float32
    static let (sequence, features, units, classes) = (32, 1, 256, 3)

    public init() {}

    /// Floating-point operations of the step's matrix products (2·m·n·k each).
    public var flopsPerStep: Double {
        Self.stepProducts(batchSize: batchSize).reduce(0) { $0 + $1.flops }
    }

    /// The benchmark model's layers.
    public static let layers: [LayerConfig] = [.lstm(units: units), .dense(units: classes)]

    public func run() -> TrainBenchmark.Result {
        .measure(model: "lstm", layers: Self.layers, inputShape: [Self.sequence, Self.features], classes: Self.classes, batchSize: batchSize,
                 products: Self.stepProducts(batchSize: batchSize), kernel: products, threads: threads, pairs: trials, steps: steps)
    }

    /// The matrix-product shapes of one step.
    static func stepProducts(batchSize b: Int) -> [GemmSequence.Product] {
        typealias P = GemmSequence.Product
        let gates = 4 * units
        let dense = P.dense
        return dense(b * sequence, features, gates) + (0..<sequence).flatMap { _ in dense(b, units, gates) } + dense(b, units, classes)
    }
}
