import FlockNN
import FlockParallel
import FlockTensor
import FlockTrain
import Foundation

/// `flock bench train --model transformer`: one training step of a small Transformer
/// encoder against the FLOP ceiling of the same step's matrix products, measured here and
/// now on the BLAS kernel this process runs, with `threads` BLAS threads.
///
/// The model (issue 14): inputs (T 64, D 128), two pre-norm encoder blocks (4 heads of
/// 32, MLP 512 ReLU — PyTorch's default — no dropout), mean pooling, dense 128→10; batch 32, SGD with momentum.
/// The ceiling runs exactly the sgemm calls the step makes, back to back: per block the
/// four projections and two MLP layers over all B·T rows (forward, weight and input
/// gradients), and per (sample, head) the attention's two forward and four backward
/// products.
public struct TransformerBenchmark {
    public var batchSize = 32
    public var steps = 5
    public var trials = 5
    /// BLAS threads for both measurements.
    public var threads = 1
    /// The step's and the ceiling's matrix products (Dense and attention).
    public var products = MatrixProducts.float32
    static let (sequence, width, heads, hidden, blocks, classes) = (64, 128, 4, 512, 2, 10)

    public init() {}

    /// Floating-point operations of the step's sgemm calls (2·m·n·k each).
    public var flopsPerStep: Double {
        Self.stepProducts(batchSize: batchSize).reduce(0) { $0 + $1.flops }
    }

    /// The benchmark model's layers.
    public static let layers: [LayerConfig] = Array(repeating: .transformerEncoder(heads: heads, mlpUnits: hidden, activation: .relu), count: blocks)
        + [.sequencePool(.mean), .dense(units: classes)]

    public func run() -> TrainBenchmark.Result {
        .measure(model: "transformer", layers: Self.layers, inputShape: [Self.sequence, Self.width], classes: Self.classes, batchSize: batchSize,
                 products: Self.stepProducts(batchSize: batchSize), kernel: products, threads: threads, pairs: trials, steps: steps)
    }

    /// The sgemm shapes of one step (their order within a phase does not change the FLOPs).
    static func stepProducts(batchSize b: Int) -> [GemmSequence.Product] {
        let (t, d, f) = (sequence, width, hidden), rows = b * sequence, head = width / heads
        typealias P = GemmSequence.Product
        let dense = P.dense
        // Each for every (sample, head), as one batch: S = Q·Kᵀ, O = P·V; backward dV = Pᵀ·dO,
        // dP = dO·Vᵀ, dQ = dS·K, dK = dSᵀ·Q.
        let pairs = b * heads
        let attention = [P(transposeA: false, transposeB: true, m: t, n: t, k: head, batch: pairs),
                         P(transposeA: false, transposeB: false, m: t, n: head, k: t, batch: pairs),
                         P(transposeA: true, transposeB: false, m: t, n: head, k: t, batch: pairs),
                         P(transposeA: false, transposeB: true, m: t, n: t, k: head, batch: pairs),
                         P(transposeA: false, transposeB: false, m: t, n: head, k: t, batch: pairs),
                         P(transposeA: true, transposeB: false, m: t, n: head, k: t, batch: pairs)]
        let block = (0..<4).flatMap { _ in dense(rows, d, d) } + dense(rows, d, f) + dense(rows, f, d) + attention
        return (0..<blocks).flatMap { _ in block } + dense(b, d, classes)
    }
}
