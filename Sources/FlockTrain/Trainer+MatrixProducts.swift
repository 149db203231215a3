import FlockNN
import FlockTensor

/// Which library each Float32 matrix-product shape runs on: chosen at start-up, kept by a
/// resume.
extension Trainer {
    /// For Float32 `products`, a `Float32MatrixProducts` on `options.matrixKernels`'s rule.
    /// Under `timed` its choices are filled too: one forward and backward pass of the model
    /// on a zero batch (this rank's share of the global batch, inference mode, nothing
    /// kept) lists the shapes the step multiplies, rank 0 times OpenBLAS against oneDNN
    /// on each and broadcasts the winners (collective with several ranks), so every rank
    /// runs the same kernels. Where no survey can run — pipeline or tensor parallelism
    /// (ranks hold different layers), a graph model, a shard-only store — the rule stays.
    /// bf16 products, `openblas`, and Float32 without oneDNN come back as plain sgemm.
    func chooseMatrixProductKernels(_ products: MatrixProducts) throws -> MatrixProducts {
        let rule: MatrixProductRule
        switch options.matrixKernels {
        case .openblas: return products
        case .onednn: rule = .onednn
        case .auto, .timed: rule = .bySize
        }
        guard case .float32 = products, let kernels = try? Float32MatrixProducts(threads: BLAS.threadCount, rule: rule) else {
            return products
        }
        let perShape = MatrixProducts.float32PerShape(kernels)
        guard options.matrixKernels == .timed else { return perShape }
        let modelParallel = parts.layout.map { $0.pipelineStages > 1 || $0.tensorWidth > 1 } ?? false
        guard !modelParallel, model.graph == nil, parameters.holdsValues, model.parameters.holdsValues else { return perShape }
        let shapes = surveyProductShapes(perShape, kernels)
        guard !shapes.isEmpty else { return perShape }
        let onOneDNN = try RankZeroChoice.agree(on: shapes, rank: rank, world: parts.world) { shapes in
            let chosen = MatrixProductTiming.choose(shapes, kernels: kernels)
            return shapes.map { chosen[$0] == .onednn }
        }
        for (shape, oneDNN) in zip(shapes, onOneDNN) { kernels.choices[shape] = oneDNN ? .onednn : .openblas }
        return perShape
    }

    /// A resume runs each shape on the library the checkpoint's run chose.
    func keepMatrixProductKernels(_ saved: [MatrixProductChoice]?) {
        guard let saved, case .float32PerShape(let kernels) = parameters.matrixProducts else { return }
        for choice in saved { kernels.choices[choice.shape] = choice.kernel }
    }

    /// The product shapes of one forward and backward pass on a zero batch, in order. The
    /// pass runs in inference mode (no dropout draws, no batch-norm statistics) and its
    /// parameter gradients are cleared after.
    private func surveyProductShapes(_ products: MatrixProducts, _ kernels: Float32MatrixProducts) -> [MatrixProductShape] {
        let saved = parameters.matrixProducts
        parameters.matrixProducts = products
        kernels.recordsShapes = true
        defer {
            kernels.recordsShapes = false
            parameters.matrixProducts = saved
            parameters.zeroGradients()
        }
        let tape = Tape(parameters: parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let batch = max(options.batchSize / parts.dataGroupSize, 1)
        let output = model.forward(tape.constant(Tensor(zeros: [batch] + model.inputShape)), context: &context)
        tape.backward(from: tape.sum(output))
        return kernels.seenShapes
    }
}

extension MatrixProducts {
    /// The per-shape choices `state.json` records (nil for bf16, plain sgemm, or none made).
    var perShapeChoices: [MatrixProductChoice]? {
        guard case .float32PerShape(let kernels) = self, !kernels.choices.isEmpty else { return nil }
        return kernels.choiceList
    }
}
