import FlockTensor
import Foundation

/// Reads a CSV file of numbers (and, in the label column, numbers or class names): every
/// column but the label is a feature, unless `featureColumns` picks them.
///
/// Quoting follows RFC 4180 (see `CSVRecordParser`); errors name the file, the line a
/// row starts on and the column.
///
/// ```swift
/// var reader = CSVReader(labelColumn: .name("species"), delimiter: ";")
/// let contents = try reader.readContents(path: "iris.csv")   // missing cells as NaN
/// let dataset = try reader.read(path: "iris.csv")            // throws at a missing cell
/// ```
public struct CSVReader: Sendable {
    /// Which column holds the target.
    public enum LabelColumn: Sendable, Equatable {
        case name(String)
        /// 0-based; negative counts from the end (-1 is the last column).
        case index(Int)
    }

    /// The field texts `missingMarkers` holds unless told otherwise (pandas' defaults, in part).
    public static let defaultMissingMarkers: Set<String> = ["NA", "N/A", "NaN", "nan", "null", "?"]

    public var hasHeader: Bool
    public var labelColumn: LabelColumn
    /// Any character but a quote or a line break: `,` `;` `\t` `|` …
    public var delimiter: Character
    /// Field texts that mean "missing" in a feature column (besides an empty field); in the
    /// label column they are an error, like an empty label.
    public var missingMarkers: Set<String>
    /// When set: the labels must be these names (or numbers equal to a name read as a
    /// number, so "1.0" finds "1"), mapped to their index; an unknown one throws
    /// `DataError.unknownClass` naming file:line.
    public var classNames: [String]?
    /// When set: the features are these columns, in this order (picked from the file by
    /// name, "0", "1", … without a header); a missing one is an error naming it; other
    /// columns are ignored. `flock predict` passes the columns saved at training time.
    public var featureColumns: [String]?
    /// Whether a file without the label column is accepted (`CSVContents.targets` nil).
    /// A label given by index counts as absent when it points at one of `featureColumns`
    /// (a header-less file of features only).
    public var labelOptional: Bool

    public init(hasHeader: Bool = true, labelColumn: LabelColumn = .index(-1), delimiter: Character = ",",
                missingMarkers: Set<String> = CSVReader.defaultMissingMarkers, classNames: [String]? = nil,
                featureColumns: [String]? = nil, labelOptional: Bool = false) {
        self.hasHeader = hasHeader
        self.labelColumn = labelColumn
        self.delimiter = delimiter
        self.missingMarkers = missingMarkers
        self.classNames = classNames
        self.featureColumns = featureColumns
        self.labelOptional = labelOptional
    }

    /// Features and targets; throws `DataError.missingValue` at the first missing feature
    /// cell and requires the label column.
    public func read(path: String) throws -> Dataset {
        try Self.requireComplete(labelRequired.readContents(path: path), path: path)
    }

    /// `read(path:)` on text; `path` is used in error messages only.
    public func parse(_ text: String, path: String) throws -> Dataset {
        try Self.requireComplete(labelRequired.parseContents(text, path: path), path: path)
    }

    public func readContents(path: String) throws -> CSVContents {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or not a file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.unreadable(path: path, reason: "not UTF-8 text (save it as UTF-8, e.g. Excel's \"CSV UTF-8\")")
        }
        return try parseContents(text, path: path)
    }

    /// Parses CSV text; `path` is used in error messages only.
    public func parseContents(_ text: String, path: String) throws -> CSVContents {
        var records = try CSVRecordParser(text: text, delimiter: delimiter, path: path)
        guard let first = try records.next() else { throw DataError.empty(path: path) }
        let names = hasHeader ? first.fields : first.fields.indices.map { "\($0)" }
        let layout = try columnLayout(names: names, path: path)
        var table = CSVTable(layout: layout, names: names, missingMarkers: missingMarkers, path: path)
        var record = hasHeader ? try records.next() : first
        while let current = record {
            try table.append(current)
            record = try records.next()
        }
        guard !table.lines.isEmpty else { throw DataError.empty(path: path) }

        var targets: Tensor? = nil
        var classNames: [String]? = nil
        if let label = layout.label {
            let encoded = try encodeLabels(table.labelTexts, lines: table.lines, column: names[label], path: path)
            targets = Tensor(shape: [table.lines.count], scalars: encoded.targets)
            classNames = encoded.classNames
        }
        return CSVContents(features: Tensor(shape: [table.lines.count, layout.features.count], scalars: table.features),
                           targets: targets, featureColumns: layout.features.map { names[$0] },
                           labelColumn: layout.label.map { names[$0] }, classNames: classNames,
                           missing: table.missing, lines: table.lines)
    }

    private var labelRequired: CSVReader {
        var reader = self
        reader.labelOptional = false
        return reader
    }

    private static func requireComplete(_ contents: CSVContents, path: String) throws -> Dataset {
        if let cell = contents.missing.first {
            throw DataError.missingValue(path: path, line: cell.line, column: cell.column)
        }
        guard let dataset = contents.dataset else { preconditionFailure("a required label column was not read") }
        return dataset
    }
}
