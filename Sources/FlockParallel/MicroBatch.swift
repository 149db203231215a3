import FlockNN
import FlockTensor

/// One micro-batch of this rank's share of an optimizer step.
public struct MicroBatch {
    /// (n, featureShape…); n may be 0 on a rank that gets no samples of a short batch.
    public let features: Tensor
    /// (n, …)
    public let targets: Tensor
    /// Backward seed: this micro-batch's weight in the step's mean loss (n·N/G for n
    /// samples here, N data-parallel ranks and G samples in the whole step), so that after
    /// averaging over the ranks the gradient is the mean over all G samples.
    public let gradientScale: Float
    /// (n, T): 1 at the sequence positions that are padding, for attention and pooling to
    /// skip. Data of the batch, split with it and held by every pipeline stage; the step
    /// fills it from the model's input when the data brings none (`Model.paddingMask`).
    public var paddingMask: Tensor?
    /// The rows' noise keyed by (seed, step, sample): what a sampling layer draws; nil:
    /// such layers draw from the step's generator.
    public var sampleNoise: SampleNoise?

    public init(features: Tensor, targets: Tensor, gradientScale: Float, paddingMask: Tensor? = nil,
                sampleNoise: SampleNoise? = nil) {
        self.features = features
        self.targets = targets
        self.gradientScale = gradientScale
        self.paddingMask = paddingMask
        self.sampleNoise = sampleNoise
    }

    public var sampleCount: Int { features.shape.first ?? 0 }
}

/// What forward produced for a micro-batch: its mean loss and outputs, for metrics.
public struct MicroBatchOutcome {
    public let loss: Float
    /// (n, outputShape…)
    public let outputs: Tensor
    public let targets: Tensor

    public init(loss: Float, outputs: Tensor, targets: Tensor) {
        self.loss = loss
        self.outputs = outputs
        self.targets = targets
    }
}
