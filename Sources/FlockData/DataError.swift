/// A problem with input data that the user can fix; each case names the file and place.
public enum DataError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case empty(path: String)
    case raggedRow(path: String, line: Int, expected: Int, found: Int)
    case nonNumeric(path: String, line: Int, column: String, text: String)
    case unknownColumn(path: String, column: String, available: [String])
    case invalidIDX(path: String, reason: String)
    case mismatchedCounts(features: String, labels: String, featureCount: Int, labelCount: Int)
    case invalidLabel(path: String, line: Int, value: Float, reason: String)
    /// Every column is the label (or samples have no values): nothing to learn from.
    case noFeatures(path: String)
    /// A feature cell is empty or a missing marker ("NA", "?", …) where values are required.
    case missingValue(path: String, line: Int, column: String)
    /// A row's label cell is empty or a missing marker.
    case missingLabel(path: String, line: Int, column: String)
    /// A label that is not one of the fixed class names (those the model was trained on).
    case unknownClass(path: String, line: Int, name: String, known: [String])
    /// A label column of numbers with a name in it (or of names with a number): the first
    /// label of the rarer kind, and how many of `total` are of the other (`expected`).
    case mixedLabels(path: String, line: Int, column: String, text: String, expected: Int, of: Int,
                     exampleLine: Int, example: String, expectNumbers: Bool)
    /// A quoted field opened on `line` is never closed.
    case unterminatedQuote(path: String, line: Int)
    /// Something other than blanks follows a quoted field's closing quote; `field` is 1-based.
    case textAfterClosingQuote(path: String, line: Int, field: Int)
    /// A CSV delimiter that is a quote or a line break.
    case unusableDelimiter(path: String, delimiter: String)
    /// A header names the same column twice, so a column cannot be found by name.
    case duplicateColumn(path: String, column: String)
    /// The label column is also one of the requested feature columns.
    case labelAmongFeatures(path: String, column: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path): return "\(path): file not found"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .empty(path): return "\(path): no data rows"
        case let .raggedRow(path, line, expected, found):
            return "\(path):\(line): expected \(expected) fields, found \(found)"
        case let .nonNumeric(path, line, column, text):
            return "\(path):\(line): column \(column): '\(text)' is not a number"
        case let .unknownColumn(path, column, available):
            return "\(path): no column '\(column)' (columns: \(Self.list(available)))"
        case let .invalidIDX(path, reason): return "\(path): not a valid IDX file: \(reason)"
        case let .mismatchedCounts(features, labels, featureCount, labelCount):
            return "\(features) has \(featureCount) samples but \(labels) has \(labelCount) labels"
        case let .invalidLabel(path, line, value, reason): return "\(path):\(line): label \(value): \(reason)"
        case let .noFeatures(path): return "\(path): no feature columns (only the label column)"
        case let .missingValue(path, line, column):
            return "\(path):\(line): column \(column): missing value; set `data.missing: mean` in the config"
                + " to fill missing feature values with the column's training mean, or remove the row"
        case let .missingLabel(path, line, column):
            return "\(path):\(line): column \(column): the label is missing; every row needs one (fill it in or remove the row)"
        case let .unknownClass(path, line, name, known):
            return "\(path):\(line): label '\(name)' is not one of the \(known.count) known classes (\(Self.list(known)))"
        case let .mixedLabels(path, line, column, text, expected, total, exampleLine, example, expectNumbers):
            let (this, other) = expectNumbers ? ("is not a number", "numbers") : ("is a number", "class names")
            return "\(path):\(line): column \(column): label '\(text)' \(this), but \(expected) of the \(total) labels are \(other)"
                + " (line \(exampleLine): '\(example)'); a label column holds class numbers or class names, not both"
        case let .unterminatedQuote(path, line):
            return "\(path):\(line): a quoted field starts on this line but its closing quote is missing"
                + " (a quote inside a quoted field is written \"\")"
        case let .textAfterClosingQuote(path, line, field):
            return "\(path):\(line): field \(field): text after the closing quote"
                + " (quote the whole field, and write a quote inside it as \"\")"
        case let .unusableDelimiter(path, delimiter):
            return "\(path): cannot use \(delimiter.debugDescription) as the delimiter (not a quote or a line break)"
        case let .duplicateColumn(path, column):
            return "\(path): the header names column '\(column)' more than once"
        case let .labelAmongFeatures(path, column):
            return "\(path): column '\(column)' is both the label and a feature column"
        }
    }

    /// Names joined by ", ", all of them up to `limit`, then "… and N more".
    static func list(_ names: [String], limit: Int = 200) -> String {
        let shown = names.prefix(limit).joined(separator: ", ")
        return names.count > limit ? "\(shown), … and \(names.count - limit) more" : shown
    }
}
