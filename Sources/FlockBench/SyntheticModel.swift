import FlockNN
import FlockParallel
import FlockTensor
import FlockTrain
import Foundation

/// A model on one synthetic batch (normal features, uniform labels), trained with SGD and
/// momentum: the workload of `flock bench train` (MLP and CNN) and `flock bench ddp`.
final class SyntheticModel {
    let parameters = ParameterStore()
    let tape: Tape
    private let model: Model
    private let features: Tensor
    private let labels: [Int]
    private var optimizer = SGD(momentum: 0.9)
    private let generator: RandomGenerator

    init(layers: [LayerConfig], inputShape: [Int], classes: Int, batchSize: Int, seed: UInt64 = 7) {
        var generator = RandomGenerator(seed: seed)
        // Shapes are the benchmark's own constants: a failure is a bug here.
        do { model = try Model(layers, inputShape: inputShape, generator: generator, parameters: parameters) } catch {
            preconditionFailure("benchmark model: \(error)")
        }
        features = Tensor.normal(shape: [batchSize] + inputShape, using: &generator)
        labels = (0..<batchSize).map { _ in Int(generator.next() % UInt64(classes)) }
        tape = Tape(parameters: parameters)
        self.generator = generator
    }

    /// An MLP with ReLU hidden layers: `layerSizes` from input width to classes.
    static func mlp(layerSizes: [Int], batchSize: Int) -> SyntheticModel {
        let layers: [LayerConfig] = layerSizes.dropFirst().dropLast().map { .dense(units: $0, activation: .relu) }
            + [.dense(units: layerSizes.last!)]
        return SyntheticModel(layers: layers, inputShape: [layerSizes[0]], classes: layerSizes.last!, batchSize: batchSize)
    }

    /// Forward, backward and update on this rank alone.
    func step() {
        forwardAndBackward()
        optimizer.step(parameters, learningRate: 0.01)
    }

    /// The same with data-parallel gradient averaging; throws when a peer fails.
    func step(dataParallel: DataParallel) throws {
        dataParallel.prepare(synchronize: true)
        forwardAndBackward()
        try dataParallel.finish()
        optimizer.step(parameters, learningRate: 0.01)
    }

    private func forwardAndBackward() {
        tape.reset()
        var context = ForwardContext(tape: tape, isTraining: true, generator: generator)
        let output = model.forward(tape.constant(features), context: &context)
        tape.backward(from: tape.softmaxCrossEntropy(output, labels: labels))
    }
}

extension TrainBenchmark.Result {
    /// A `SyntheticModel` of `layers` (its products on `kernel`) against `products` run
    /// back to back on the same kernel, after `warmUp` unmeasured rounds of both.
    static func measure(model name: String, layers: [LayerConfig], inputShape: [Int], classes: Int, batchSize: Int,
                        products: [GemmSequence.Product], kernel: MatrixProducts, threads: Int, pairs: Int, steps: Int,
                        warmUp: Int = 2) -> Self {
        BLAS.setThreadCount(threads)
        let model = SyntheticModel(layers: layers, inputShape: inputShape, classes: classes, batchSize: batchSize)
        model.parameters.matrixProducts = kernel
        let gemms = GemmSequence(products, kernel: kernel)
        for _ in 0..<warmUp { model.step(); gemms.run() }
        let flops = products.reduce(0) { $0 + $1.flops }
        return measure(model: name, pairs: pairs, steps: steps, batchSize: batchSize, flopsPerStep: flops, threads: threads,
                       precision: kernel.precision, step: { model.step() }, ceiling: { gemms.run() })
    }
}

/// Wall-clock seconds of a block of work.
enum Stopwatch {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
