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
        self.method = method
        let n = features.shape.first ?? 0
        let width = n == 0 ? 0 : features.count / n
        var offset = [Float](repeating: 0, count: width)
        var scale = [Float](repeating: 1, count: width)
        if method != .none, n > 0 {
            features.scalars.withUnsafeBufferPointer { x in
                for j in 0..<width {
                    switch method {
                    case .standard:
                        var sum = 0.0, sumSquares = 0.0
                        for i in 0..<n { let v = Double(x[i * width + j]); sum += v; sumSquares += v * v }
                        let mean = sum / Double(n)
                        let deviation = Swift.max(sumSquares / Double(n) - mean * mean, 0).squareRoot()
                        offset[j] = Float(mean)
                        scale[j] = deviation > 1e-12 ? Float(1 / deviation) : 1
                    case .minMax:
                        var low = Float.infinity, high = -Float.infinity
                        for i in 0..<n { low = Swift.min(low, x[i * width + j]); high = Swift.max(high, x[i * width + j]) }
                        offset[j] = low
                        scale[j] = high > low ? 1 / (high - low) : 1
                    case .none: break
                    }
                }
            }
        }
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

    public func apply(_ dataset: Dataset) -> Dataset {
        Dataset(features: apply(dataset.features), targets: dataset.targets)
    }
}
