import FlockTensor

/// One cell of a CSV file, for errors and reports: 1-based line in the file, column name.
public struct CSVCell: Sendable, Equatable, CustomStringConvertible {
    /// The physical line the cell's row starts on.
    public let line: Int
    public let column: String

    public init(line: Int, column: String) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// What a CSV file held, before any statistics are fitted.
///
/// ```swift
/// let contents = try CSVReader(labelColumn: .name("diagnosis")).readContents(path: "cancer.csv")
/// contents.classNames   // ["benign", "malignant"]: targets hold 0 and 1
/// contents.missing      // [CSVCell(line: 12, column: "radius")]: NaN in features
/// ```
public struct CSVContents: Sendable {
    /// (rows, featureColumns.count); missing cells are `Float.nan`.
    public var features: Tensor
    /// (rows): the label values, or class indices when the labels were names (or when
    /// `CSVReader.classNames` was given); nil when the file has no label column and the
    /// reader allows that (`labelOptional`).
    public var targets: Tensor?
    /// Feature column names in the order of `features`' columns (header names; "0", "1", …
    /// without a header).
    public var featureColumns: [String]
    /// The label column's name (nil when absent and optional).
    public var labelColumn: String?
    /// Class names when the label column held names: index i ↔ classNames[i]. Names are
    /// sorted (as scikit-learn's LabelEncoder) unless `CSVReader.classNames` fixed the mapping.
    public var classNames: [String]?
    /// The feature cells that were empty or a missing marker, in file order.
    public var missing: [CSVCell]
    /// (rows): the 1-based physical line each row starts on, for messages about a row
    /// (quoted line breaks and blank lines make it differ from the row number).
    public var lines: [Int]

    public init(features: Tensor, targets: Tensor?, featureColumns: [String], labelColumn: String?,
                classNames: [String]?, missing: [CSVCell], lines: [Int]) {
        precondition(features.rank == 2 && features.shape[1] == featureColumns.count && lines.count == features.shape[0],
                     "features \(features.shape), \(featureColumns.count) columns and \(lines.count) lines disagree")
        precondition(targets.map { $0.shape == [features.shape[0]] } ?? true, "targets must be (rows)")
        self.features = features
        self.targets = targets
        self.featureColumns = featureColumns
        self.labelColumn = labelColumn
        self.classNames = classNames
        self.missing = missing
        self.lines = lines
    }

    /// The number of data rows.
    public var count: Int { features.shape[0] }

    /// Features and targets as a `Dataset`; nil when the file had no label column.
    public var dataset: Dataset? {
        targets.map { Dataset(features: features, targets: $0) }
    }
}
