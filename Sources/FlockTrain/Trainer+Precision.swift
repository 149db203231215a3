import FlockTensor

/// The matrix products' precision: chosen at start-up, kept by a resume.
extension Trainer {
    /// Resolves `choice` on every rank (collective with several) and hands the products,
    /// and convolution kernels in that precision, to the model's and this rank's
    /// parameter stores, which every tape reads.
    /// `configured` is what the record says the config asked for (default `choice`).
    func usePrecision(_ choice: PrecisionChoice, configured: PrecisionChoice? = nil) throws {
        var (resolved, record) = try MixedPrecision.resolve(choice, threads: BLAS.threadCount, world: parts.world)
        record.configured = configured ?? choice
        let products = try chooseMatrixProductKernels(resolved)
        model.parameters.matrixProducts = products
        parameters.matrixProducts = products
        precision = record
        try chooseConvolutionKernels(precision: record.used, products: products)
    }

    /// A resume continues in the precision the checkpoint was trained in: under `auto`
    /// it switches to it (an error when this machine cannot run it); a config that names
    /// another precision is an error, so a run never changes precision halfway silently.
    func keepPrecision(_ saved: MatrixPrecision, source: String) throws {
        guard saved != precision.used else { return }
        guard options.precision == .auto else {
            throw Checkpoint.LoadError(description: "\(source): precision: the checkpoint was trained in \(saved.rawValue) but this run is configured for \(options.precision.rawValue); resume with precision: \(saved.rawValue) (or auto)")
        }
        do {
            try usePrecision(saved == .bf16 ? .bf16 : .float32, configured: .auto)
        } catch {
            throw Checkpoint.LoadError(description: "\(source): precision: the checkpoint was trained in \(saved.rawValue), which this machine cannot continue: \(error)")
        }
    }
}
