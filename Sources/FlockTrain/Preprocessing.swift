import FlockData
import FlockStore
import FlockTensor
import Foundation

/// Everything that turns a data file's rows into the model's inputs and its outputs back
/// into answers, fitted on the training split once and saved with every checkpoint and
/// the final model as `preprocessing.json` — so `evaluate` and `predict` apply exactly
/// the training statistics and never re-fit them on new data.
///
/// Applying it to raw feature rows (N, columns): missing cells (NaN) take the training
/// split's column mean when `imputation` is set, then `(x − offset) · scale` per column
/// (`normalizer`), then each row is laid out as `featureShape`. Model outputs of a
/// regression are `output · targetScaling.std + targetScaling.mean` per target column;
/// a classifier's output index `i` is the class `classNames[i]` (or `i` itself).
///
/// ```json
/// {"format_version": 1, "feature_columns": ["age", "bmi"], "label_column": "target",
///  "feature_shape": [2], "normalizer": {"method": "standard", "offset": [..], "scale": [..]},
///  "class_names": null, "class_count": null, "target_scaling": {"mean": [152.1], "std": [77.0]}}
/// ```
public struct Preprocessing: Codable, Equatable, Sendable {
    public var formatVersion = 1
    /// The file's feature columns in the order the model reads them (nil: not a CSV).
    public var featureColumns: [String]?
    public var labelColumn: String?
    /// Per-sample shape the model takes.
    public var featureShape: [Int]
    /// Per feature column, the value that replaces a missing cell (the training split's
    /// mean); nil: missing cells are an error.
    public var imputation: [Float]?
    public var normalizer: Normalizer
    /// Class index → name, when the labels were names.
    public var classNames: [String]?
    /// Classes of a classifier; nil for regression.
    public var classCount: Int?
    /// How regression targets were standardized for training (nil: they were not).
    public var targetScaling: TargetScaling?

    public static let fileName = "preprocessing.json"

    enum CodingKeys: String, CodingKey {
        case normalizer, imputation
        case formatVersion = "format_version"
        case featureColumns = "feature_columns"
        case labelColumn = "label_column"
        case featureShape = "feature_shape"
        case classNames = "class_names"
        case classCount = "class_count"
        case targetScaling = "target_scaling"
    }

    public init(featureColumns: [String]? = nil, labelColumn: String? = nil, featureShape: [Int], imputation: [Float]? = nil,
                normalizer: Normalizer, classNames: [String]? = nil, classCount: Int? = nil, targetScaling: TargetScaling? = nil) {
        self.featureColumns = featureColumns
        self.labelColumn = labelColumn
        self.featureShape = featureShape
        self.imputation = imputation
        self.normalizer = normalizer
        self.classNames = classNames
        self.classCount = classCount
        self.targetScaling = targetScaling
    }

    /// Raw feature rows (N, columns…) → the model's inputs (N, featureShape…). Throws
    /// naming the first missing cell (row index) when nothing imputes it.
    public func inputs(_ raw: Tensor, source: String) throws -> Tensor {
        let rows = raw.shape.first ?? 0, width = rows == 0 ? featureShape.reduce(1, *) : raw.count / rows
        guard width == featureShape.reduce(1, *) else {
            throw DataError.unreadable(path: source, reason: "rows have \(width) feature values, the model takes \(featureShape.reduce(1, *)) (\(featureShape))")
        }
        if let at = raw.scalars.firstIndex(where: \.isNaN), imputation?.count != width {
            throw DataError.unreadable(path: source, reason: "row \(at / width + 1), feature \(featureColumns?[at % width] ?? String(at % width)) is missing and the model was trained without imputation (data.missing: mean)")
        }
        return normalizer.apply(Self.impute(raw, with: imputation)).reshaped([rows] + featureShape)
    }

    /// `features` (N, columns…) with each missing value (NaN) replaced by its column's
    /// entry of `imputation` (unchanged without one).
    static func impute(_ features: Tensor, with imputation: [Float]?) -> Tensor {
        guard let imputation, !imputation.isEmpty, features.scalars.contains(where: \.isNaN) else { return features }
        var filled = features
        for index in filled.scalars.indices where filled.scalars[index].isNaN {
            filled.scalars[index] = imputation[index % imputation.count]
        }
        return filled
    }

    /// Targets as the model was trained on them (standardized when `targetScaling` is set).
    public func trainingTargets(_ targets: Tensor) -> Tensor {
        targetScaling?.apply(targets) ?? targets
    }

    /// Model outputs (or trained-on targets) back in the data's units.
    public func original(_ values: Tensor) -> Tensor {
        targetScaling?.undo(values) ?? values
    }

    /// The name of class `index`.
    public func className(_ index: Int) -> String {
        classNames.map { $0.indices.contains(index) ? $0[index] : String(index) } ?? String(index)
    }

    func encoded() throws -> Data {
        try FlockJSON.encoder(pretty: true).encode(self)
    }

    /// Reads `preprocessing.json`; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> Preprocessing {
        do { return try FlockJSON.decoder.decode(Preprocessing.self, from: data) } catch {
            throw Checkpoint.LoadError(description: "\(path): not a valid preprocessing file: \(error)")
        }
    }
}

/// Standardization of regression targets: `(y − mean) / std` per target column, fitted on
/// the training split, undone on predictions.
public struct TargetScaling: Codable, Equatable, Sendable {
    public let mean: [Float]
    public let std: [Float]

    /// Fits per-column statistics of `targets` (N) or (N, k); a constant column keeps std 1.
    public init(fittingOn targets: Tensor) {
        let rows = max(targets.shape.first ?? 0, 1), width = max(targets.count / rows, 1)
        var mean = [Float](repeating: 0, count: width), std = [Float](repeating: 1, count: width)
        for column in 0..<width {
            var sum = 0.0, squares = 0.0
            for row in 0..<(targets.shape.first ?? 0) {
                let value = Double(targets.scalars[row * width + column])
                sum += value
                squares += value * value
            }
            let n = Double(targets.shape.first ?? 0), average = n > 0 ? sum / n : 0
            let deviation = n > 0 ? max(squares / n - average * average, 0).squareRoot() : 0
            mean[column] = Float(average)
            std[column] = deviation > 1e-12 ? Float(deviation) : 1
        }
        self.mean = mean
        self.std = std
    }

    public func apply(_ values: Tensor) -> Tensor { map(values) { value, column in (value - mean[column]) / std[column] } }
    public func undo(_ values: Tensor) -> Tensor { map(values) { value, column in value * std[column] + mean[column] } }

    private func map(_ values: Tensor, _ transform: (Float, Int) -> Float) -> Tensor {
        var result = values
        let width = mean.count
        for index in result.scalars.indices { result.scalars[index] = transform(result.scalars[index], index % width) }
        return result
    }
}
