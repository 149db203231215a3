import FlockNN
import FlockTensor

/// Which kernel each Conv2D shape runs on: chosen at start-up, kept by a resume.
extension Trainer {
    /// Gives this rank's stores a `ConvolutionKernels` in `precision` and fills its
    /// choices: a forward pass on one zero sample lists the model's convolution shapes,
    /// rank 0 times both kernels on each at this rank's batch and broadcasts the winners
    /// (collective with several ranks), so every rank runs the same kernels. Under
    /// pipeline or tensor parallelism, where ranks hold different layers, no timing: each
    /// shape runs on `defaultKernel`, a rule every rank agrees on. Without oneDNN (a broken
    /// installation) Float32 stays on im2col.
    func chooseConvolutionKernels(precision: MatrixPrecision, products: MatrixProducts) throws {
        model.parameters.convolutions = nil
        parameters.convolutions = nil
        guard let kernels = try? ConvolutionKernels(precision: precision, threads: BLAS.threadCount) else { return }
        model.parameters.convolutions = kernels
        parameters.convolutions = kernels
        let modelParallel = parts.layout.map { $0.pipelineStages > 1 || $0.tensorWidth > 1 } ?? false
        // A description-only store (shard-only start-up) cannot run the survey's forward
        // pass; a model without convolutions need not.
        guard !modelParallel, parameters.holdsValues, model.parameters.holdsValues,
              model.namedLayers.contains(where: { $0.layer is Conv2D || ($0.layer as? RecomputedLayer)?.inner is Conv2D })
        else { return }
        let shapes = surveyConvolutionShapes(kernels)
        guard !shapes.isEmpty else { return }
        let batch = max(options.batchSize / parts.dataGroupSize, 1)
        let onOneDNN = try RankZeroChoice.agree(on: shapes, rank: rank, world: parts.world) { shapes in
            let chosen = ConvolutionTiming.choose(shapes, batch: batch, kernels: kernels, products: products,
                                                  inputGradient: kernels.shapesNeedingInputGradient)
            return shapes.map { chosen[$0] == .onednn }
        }
        for (shape, oneDNN) in zip(shapes, onOneDNN) { kernels.choices[shape] = oneDNN ? .onednn : .im2col }
    }

    /// A resume runs each shape on the kernel the checkpoint's run chose.
    func keepConvolutionKernels(_ saved: [ConvolutionChoice]?) {
        guard let saved, let kernels = parameters.convolutions else { return }
        for choice in saved { kernels.choices[choice.shape] = choice.kernel }
    }

    /// The convolution shapes of one inference forward pass on a zero sample, in order.
    private func surveyConvolutionShapes(_ kernels: ConvolutionKernels) -> [ConvolutionShape] {
        let tape = Tape(parameters: parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        _ = model.forward(tape.constant(Tensor(zeros: [1] + model.inputShape)), context: &context)
        return kernels.seenShapes
    }
}
