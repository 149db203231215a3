import FlockNN
import FlockParallel
import FlockTensor
import FlockTrain
import Foundation

/// `flock bench train --model cnn`: one training step of a small CNN against the FLOP
/// ceiling of the same step's matrix products, measured here and now on the BLAS kernel
/// this process runs, with `threads` BLAS threads.
///
/// The model (issue 13): conv 1→16 3×3 SAME + ReLU, max-pool 2, conv 16→32 3×3 SAME +
/// ReLU, max-pool 2, dense 1568→128 + ReLU, dense 128→10, on 1×28×28 inputs, batch 128,
/// SGD with momentum. The ceiling runs exactly the sgemm calls the step makes (each
/// convolution as one sgemm over the batch's im2col matrix: forward W·columns, backward
/// g·columnsᵀ and, for every layer but the first, the input-side product), back to back.
/// The step's convolutions run on the kernel `ConvolutionTiming` picks per shape, as a
/// trainer's do (im2col, or oneDNN's convolution; in bf16 under `products: .bf16`).
public struct CNNBenchmark {
    public var batchSize = 128
    public var steps = 20
    public var trials = 5
    /// BLAS threads for both measurements.
    public var threads = 1
    /// The step's and the ceiling's matrix products; the convolutions run in the same precision.
    public var products = MatrixProducts.float32
    /// Every convolution on this kernel instead of timing both (a before/after comparison).
    public var forcedKernel: ConvolutionKernel?
    /// The kernel `run` chose for each convolution (timed as the trainer times them at start-up).
    public private(set) var chosen: [ConvolutionChoice] = []

    public init() {}

    /// The two convolutions' shapes.
    static let convolutionShapes = [(1, 28, 16), (16, 14, 32)].map { channels, size, filters in
        ConvolutionShape(geometry: WindowGeometry(channels: channels, height: size, width: size, kernel: (3, 3), stride: (1, 1),
                                                  padding: .same)!, filters: filters, groups: 1)
    }

    /// Floating-point operations of the step's sgemm calls (2·m·n·k each).
    public var flopsPerStep: Double {
        Self.stepProducts(batchSize: batchSize).reduce(0) { $0 + $1.flops }
    }

    /// The benchmark model's layers.
    public static let layers: [LayerConfig] = [
        .conv2D(filters: 16, kernel: 3, padding: .same, activation: .relu), .maxPool2D(pool: 2),
        .conv2D(filters: 32, kernel: 3, padding: .same, activation: .relu), .maxPool2D(pool: 2),
        .flatten, .dense(units: 128, activation: .relu), .dense(units: 10),
    ]

    public mutating func run() -> TrainBenchmark.Result {
        BLAS.setThreadCount(threads)
        let cnn = SyntheticModel(layers: CNNBenchmark.layers, inputShape: [1, 28, 28], classes: 10, batchSize: batchSize)
        cnn.parameters.matrixProducts = products
        if let kernels = try? ConvolutionKernels(precision: products.precision, threads: threads) {
            kernels.choices = forcedKernel.map { kernel in Dictionary(uniqueKeysWithValues: Self.convolutionShapes.map { ($0, kernel) }) }
                ?? ConvolutionTiming.choose(Self.convolutionShapes, batch: batchSize, kernels: kernels, products: products,
                                            inputGradient: [Self.convolutionShapes[1]])
            cnn.parameters.convolutions = kernels
            chosen = kernels.choiceList
        }
        let gemms = GemmSequence(Self.stepProducts(batchSize: batchSize), kernel: products)
        for _ in 0..<3 { cnn.step(); gemms.run() }
        return TrainBenchmark.Result.measure(model: "cnn", pairs: trials, steps: steps, batchSize: batchSize, flopsPerStep: flopsPerStep,
                                             threads: threads, precision: products.precision, step: { cnn.step() }, ceiling: { gemms.run() })
    }

    /// The sgemm shapes of one step, in the order the step runs them.
    static func stepProducts(batchSize b: Int) -> [GemmSequence.Product] {
        // (filters, patch rows C·9, patch columns B·OH·OW) of the two convolutions.
        let conv1 = (16, 1 * 9, b * 28 * 28), conv2 = (32, 16 * 9, b * 14 * 14)
        return [
            // Forward: Y'(F, cols) = W(F, rows) · columns(rows, cols); dense x · Wᵀ.
            .init(transposeA: false, transposeB: false, m: conv1.0, n: conv1.2, k: conv1.1),
            .init(transposeA: false, transposeB: false, m: conv2.0, n: conv2.2, k: conv2.1),
            .init(transposeA: false, transposeB: true, m: b, n: 128, k: 1568),
            .init(transposeA: false, transposeB: true, m: b, n: 10, k: 128),
            // Backward, last layer first: weight part, then the input part.
            .init(transposeA: true, transposeB: false, m: 10, n: 128, k: b),
            .init(transposeA: false, transposeB: false, m: b, n: 128, k: 10),
            .init(transposeA: true, transposeB: false, m: 128, n: 1568, k: b),
            .init(transposeA: false, transposeB: false, m: b, n: 1568, k: 128),
            .init(transposeA: false, transposeB: true, m: conv2.0, n: conv2.1, k: conv2.2),
            .init(transposeA: true, transposeB: false, m: conv2.1, n: conv2.2, k: conv2.0),
            .init(transposeA: false, transposeB: true, m: conv1.0, n: conv1.1, k: conv1.2),
        ]
    }
}

/// A fixed list of matrix products (sgemm, or bf16 ones) on preallocated operands, run back to back.
final class GemmSequence {
    struct Product {
        let transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int
        /// Independent products of this shape run as one batch (attention's per-(sample,
        /// head) products, as the step runs them), dense one after another.
        var batch = 1

        init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, batch: Int = 1) {
            (self.transposeA, self.transposeB, self.m, self.n, self.k, self.batch) = (transposeA, transposeB, m, n, k, batch)
        }

        /// Floating-point operations: 2·m·n·k per product.
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }

        /// The batch's operands: dense matrices in stored order, one after another.
        var layout: MatrixProductBatch {
            let strides = { (rows: Int, columns: Int) in MatrixProductBatch.Strides(row: columns, outer: rows * columns, inner: 0) }
            return MatrixProductBatch(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, outer: batch, inner: 1,
                                      a: transposeA ? strides(k, m) : strides(m, k), b: transposeB ? strides(n, k) : strides(k, n),
                                      c: strides(m, n))
        }

        /// A dense layer input → output over `rows` rows: forward x·Wᵀ, backward gᵀ·x and g·W.
        static func dense(_ rows: Int, _ input: Int, _ output: Int) -> [Product] {
            [Product(transposeA: false, transposeB: true, m: rows, n: output, k: input),
             Product(transposeA: true, transposeB: false, m: output, n: input, k: rows),
             Product(transposeA: false, transposeB: false, m: rows, n: input, k: output)]
        }
    }

    private let products: [Product]
    private let left: [[Float]]
    private let right: [[Float]]
    private var results: [[Float]]
    private let kernel: MatrixProducts

    init(_ products: [Product], kernel: MatrixProducts = .float32) {
        self.products = products
        self.kernel = kernel
        left = products.map { [Float](repeating: 0.01, count: $0.m * $0.k * $0.batch) }
        right = products.map { [Float](repeating: 0.02, count: $0.k * $0.n * $0.batch) }
        results = products.map { [Float](repeating: 0, count: $0.m * $0.n * $0.batch) }
    }

    func run() {
        for (i, p) in products.enumerated() {
            left[i].withUnsafeBufferPointer { a in
                right[i].withUnsafeBufferPointer { b in
                    results[i].withUnsafeMutableBufferPointer { c in
                        kernel.batchedGemm(p.layout, a: a.baseAddress!, b: b.baseAddress!, c: c.baseAddress!)
                    }
                }
            }
        }
    }
}
