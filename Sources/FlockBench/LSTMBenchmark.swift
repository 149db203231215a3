import FlockNN
import FlockTensor

/// `flock bench train --model lstm`: one training step of an LSTM on waveform-shaped
/// sequences against the FLOP ceiling of the same step's matrix products, measured here
/// and now with `threads` BLAS threads.
///
/// The model (issue 31): inputs (T 32, 1 value a step, as `examples/sequence-lstm.yaml`'s
/// waveforms), LSTM 256 units (last hidden state), dense 256→3; batch 32, SGD with
/// momentum. The ceiling runs the step's products back to back, as the fused layer
/// (`Tape.recurrent`) runs them: the input projection of all steps at once (forward and
/// both gradients), per step but the first the recurrent h·W_hhᵀ forward and
/// dgates·W_hh backward, the recurrent weight gradient as one product over the T−1 later
/// steps' rows, and the head.
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
        let recurrent = (1..<sequence).flatMap { _ in
            [P(transposeA: false, transposeB: true, m: b, n: gates, k: units),
             P(transposeA: false, transposeB: false, m: b, n: units, k: gates)]
        }
        let recurrentWeight = P(transposeA: true, transposeB: false, m: gates, n: units, k: (sequence - 1) * b)
        return dense(b * sequence, features, gates) + recurrent + [recurrentWeight] + dense(b, units, classes)
    }
}
