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
            return "\(path): no column '\(column)' (columns: \(available.prefix(12).joined(separator: ", "))\(available.count > 12 ? ", …" : ""))"
        case let .invalidIDX(path, reason): return "\(path): not a valid IDX file: \(reason)"
        case let .mismatchedCounts(features, labels, featureCount, labelCount):
            return "\(features) has \(featureCount) samples but \(labels) has \(labelCount) labels"
        case let .invalidLabel(path, line, value, reason): return "\(path):\(line): label \(value): \(reason)"
        case let .noFeatures(path): return "\(path): no feature columns (only the label column)"
        }
    }
}
