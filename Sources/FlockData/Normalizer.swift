import FlockTensor

/// Per-feature scaling fitted on the training split only and then applied unchanged to
/// validation and test data (so no statistic leaks from held-out samples).
public struct Normalizer: Sendable, Equatable, Codable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        case none
        /// (x − mean) / std; features with zero variance are only centred.
        case standard
        /// (x − min) / (max − min) into [0, 1]; constant features map to 0.
        case minMax = "minmax"
    }

    public let method: Method
    public let offset: [Float]
    public let scale: [Float]

    /// Fits per-feature statistics over the first dimension of `features` (N, d…).
    public init(method: Method, fittingOn features: Tensor) {
        let n = features.shape.first ?? 0
        var statistics = FeatureStatistics(width: n == 0 ? 0 : features.count / n)
        if method != .none, n > 0, statistics.width > 0 {
            features.scalars.withUnsafeBufferPointer { statistics.add($0) }
        }
        self = statistics.normalizer(method)
    }

    init(method: Method, offset: [Float], scale: [Float]) {
        self.method = method
        self.offset = offset
        self.scale = scale
    }

    /// `(x − offset) · scale` per feature.
    public func apply(_ features: Tensor) -> Tensor {
        guard method != .none, !offset.isEmpty else { return features }
        var result = features
        let width = offset.count
        result.scalars.withUnsafeMutableBufferPointer { x in
            for i in 0..<x.count { x[i] = (x[i] - offset[i % width]) * scale[i % width] }
        }
        return result
    }

    /// Back to the data's units: `x / scale + offset` per feature (a constant feature,
    /// scale 0, comes back as its offset).
    public func inverse(_ features: Tensor) -> Tensor {
        guard method != .none, !offset.isEmpty else { return features }
        var result = features
        let width = offset.count
        result.scalars.withUnsafeMutableBufferPointer { x in
            for i in 0..<x.count {
                let scale = self.scale[i % width]
                x[i] = scale == 0 ? offset[i % width] : x[i] / scale + offset[i % width]
            }
        }
        return result
    }

    /// The same scaling for rows that hold `times` samples side by side (generated pairs).
    public func repeated(_ times: Int) -> Normalizer {
        Normalizer(method: method, offset: (0..<times).flatMap { _ in offset }, scale: (0..<times).flatMap { _ in scale })
    }

    public func apply(_ dataset: Dataset) -> Dataset {
        Dataset(features: apply(dataset.features), targets: dataset.targets)
    }
}
