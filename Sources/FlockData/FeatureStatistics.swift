import FlockTensor

/// Per-column statistics of feature rows, gathered a block of rows at a time (so a file
/// larger than memory can be fitted in one pass): count of present values, sum and sum
/// of squares in Double, min and max. Missing values (NaN) are counted apart.
///
/// Rows added in the same order give the same sums as `Normalizer(method:fittingOn:)`'s
/// loop, which is built on this type.
public struct FeatureStatistics: Sendable, Equatable {
    public let width: Int
    public private(set) var rows = 0
    public private(set) var present: [Int]
    public private(set) var sum: [Double]
    public private(set) var sumOfSquares: [Double]
    public private(set) var minimum: [Float]
    public private(set) var maximum: [Float]

    public init(width: Int) {
        self.width = width
        present = Array(repeating: 0, count: width)
        sum = Array(repeating: 0, count: width)
        sumOfSquares = Array(repeating: 0, count: width)
        minimum = Array(repeating: .infinity, count: width)
        maximum = Array(repeating: -.infinity, count: width)
    }

    /// The statistics of every row of `features` (first axis: rows).
    public init(of features: Tensor) {
        let rows = features.shape.first ?? 0
        self.init(width: rows == 0 ? 0 : features.count / rows)
        if rows > 0 && width > 0 { features.scalars.withUnsafeBufferPointer { add($0) } }
    }

    /// Adds the rows of `values` (rows × width, row-major) for which `include(row)` holds.
    public mutating func add(_ values: UnsafeBufferPointer<Float>, include: (Int) -> Bool = { _ in true }) {
        precondition(width > 0 && values.count % width == 0, "\(values.count) values are not rows of \(width)")
        for row in 0..<(values.count / width) where include(row) {
            rows += 1
            for column in 0..<width {
                let value = values[row * width + column]
                guard !value.isNaN else { continue }
                present[column] += 1
                sum[column] += Double(value)
                sumOfSquares[column] += Double(value) * Double(value)
                minimum[column] = Swift.min(minimum[column], value)
                maximum[column] = Swift.max(maximum[column], value)
            }
        }
    }

    /// Each column's mean over its present values (0 for a column with none): what a
    /// missing cell is imputed with.
    public var means: [Float] {
        (0..<width).map { present[$0] == 0 ? 0 : Float(sum[$0] / Double(present[$0])) }
    }

    /// The normalizer fitted on these rows, with each missing value counted as its
    /// column's entry of `imputation` (absent values are skipped without one).
    public func normalizer(_ method: Normalizer.Method, imputation: [Float]? = nil) -> Normalizer {
        var offset = [Float](repeating: 0, count: width), scale = [Float](repeating: 1, count: width)
        for column in 0..<width where method != .none {
            let missing = imputation == nil ? 0 : rows - present[column]
            let filler = imputation.map { $0[column] } ?? 0
            let n = Double(present[column] + missing)
            guard n > 0 else { continue }
            switch method {
            case .standard:
                let total = sum[column] + Double(missing) * Double(filler)
                let squares = sumOfSquares[column] + Double(missing) * Double(filler) * Double(filler)
                let mean = total / n
                let deviation = Swift.max(squares / n - mean * mean, 0).squareRoot()
                offset[column] = Float(mean)
                scale[column] = deviation > 1e-12 ? Float(1 / deviation) : 1
            case .minMax:
                let low = missing > 0 ? Swift.min(minimum[column], filler) : minimum[column]
                let high = missing > 0 ? Swift.max(maximum[column], filler) : maximum[column]
                offset[column] = low
                scale[column] = high > low ? 1 / (high - low) : 1
            case .none: break
            }
        }
        return Normalizer(method: method, offset: offset, scale: scale)
    }
}
