import FlockTensor

/// The models of `flock bench train --model`: their one-line descriptions and how each
/// is measured.
public enum TrainBenchModel {
    public static let descriptions: [String: String] = [
        "mlp": "mlp 784-512-512-10, batch 128",
        "cnn": "cnn conv3x3(16)-maxpool2-conv3x3(32)-maxpool2-1568-128-10 on 1x28x28, batch 128",
        "transformer": "transformer 2 pre-norm encoder blocks (d 128, 4 heads, MLP 512 ReLU) on 64x128, mean pool, 128-10, batch 32",
        "lstm": "lstm 256 units over 32 steps of 1 value (waveforms), last state, 256-3, batch 32",
    ]

    /// Measures `model` (a key of `descriptions`); the notes say what the run chose
    /// (the CNN's convolution kernels).
    /// `convolutions` forces the CNN's kernel (nil: timed per shape, as a trainer does).
    public static func run(_ model: String, threads: Int, trials: Int, products: MatrixProducts,
                           convolutions: ConvolutionKernel? = nil) -> (TrainBenchmark.Result, [String]) {
        switch model {
        case "transformer":
            var benchmark = TransformerBenchmark()
            (benchmark.threads, benchmark.trials, benchmark.products) = (threads, trials, products)
            return (benchmark.run(), [])
        case "lstm":
            var benchmark = LSTMBenchmark()
            (benchmark.threads, benchmark.trials, benchmark.products) = (threads, trials, products)
            return (benchmark.run(), [])
        case "cnn":
            var benchmark = CNNBenchmark()
            (benchmark.threads, benchmark.trials, benchmark.products) = (threads, trials, products)
            benchmark.forcedKernel = convolutions
            let result = benchmark.run()
            return (result, benchmark.chosen.map { "convolution \($0.shape): \($0.kernel.rawValue)" })
        default:
            var benchmark = TrainBenchmark()
            (benchmark.threads, benchmark.trials, benchmark.products) = (threads, trials, products)
            return (benchmark.run(), [])
        }
    }
}
