import FlockTensor

/// One batch: features (B, featureShape…) and targets (B, …).
public struct Batch: Sendable {
    public let features: Tensor
    public let targets: Tensor
    public var count: Int { features.shape[0] }
}
