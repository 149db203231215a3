import Foundation

/// Reads a numeric CSV file into a `Dataset`: every column but the label is a feature.
public struct CSVReader: Sendable {
    /// Which column holds the target.
    public enum LabelColumn: Sendable, Equatable {
        case name(String)
        /// 0-based; negative counts from the end (-1 is the last column).
        case index(Int)
    }

    public var hasHeader: Bool
    public var labelColumn: LabelColumn
    public var delimiter: Character

    public init(hasHeader: Bool = true, labelColumn: LabelColumn = .index(-1), delimiter: Character = ",") {
        self.hasHeader = hasHeader
        self.labelColumn = labelColumn
        self.delimiter = delimiter
    }

    public func read(path: String) throws -> Dataset {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DataError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try parse(text, path: path)
    }

    /// Parses CSV text; `path` is used in error messages only.
    public func parse(_ text: String, path: String) throws -> Dataset {
        // "\r\n" is one Character in Swift, so isNewline splits Windows and Unix lines alike.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: $0.element) }
            .filter { !$0.text.allSatisfy(\.isWhitespace) }
        var columnNames: [String]? = nil
        if hasHeader, !lines.isEmpty {
            columnNames = lines.removeFirst().text.split(separator: delimiter, omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        guard let first = lines.first else { throw DataError.empty(path: path) }
        let width = columnNames?.count ?? first.text.split(separator: delimiter, omittingEmptySubsequences: false).count
        let names = columnNames ?? (0..<width).map { "\($0)" }
        let label = try labelIndex(width: width, names: names, path: path)
        guard width >= 2 else { throw DataError.noFeatures(path: path) }

        var features = [Float]()
        features.reserveCapacity(lines.count * (width - 1))
        var targets = [Float]()
        targets.reserveCapacity(lines.count)
        for line in lines {
            let fields = line.text.split(separator: delimiter, omittingEmptySubsequences: false)
            guard fields.count == width else {
                throw DataError.raggedRow(path: path, line: line.number, expected: width, found: fields.count)
            }
            for (column, field) in fields.enumerated() {
                let trimmed = field.trimmingCharacters(in: .whitespaces)
                guard let value = Float(trimmed), value.isFinite else {
                    throw DataError.nonNumeric(path: path, line: line.number, column: names[column], text: trimmed)
                }
                if column == label { targets.append(value) } else { features.append(value) }
            }
        }
        return Dataset(features: Tensor(shape: [lines.count, width - 1], scalars: features),
                       targets: Tensor(shape: [lines.count], scalars: targets))
    }

    private func labelIndex(width: Int, names: [String], path: String) throws -> Int {
        switch labelColumn {
        case let .name(name):
            guard let index = names.firstIndex(of: name) else {
                throw DataError.unknownColumn(path: path, column: name, available: names)
            }
            return index
        case let .index(index):
            let resolved = index < 0 ? width + index : index
            guard resolved >= 0 && resolved < width else {
                throw DataError.unknownColumn(path: path, column: "#\(index)", available: names)
            }
            return resolved
        }
    }
}
