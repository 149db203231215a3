extension CSVReader {
    /// The label column as targets: numbers stay numbers; if any label is not a number the
    /// column holds class names, mapped to indices of the sorted distinct names (as
    /// scikit-learn's LabelEncoder), or of `classNames` when given.
    /// - Parameters:
    ///   - texts: (rows) the label cells, none empty.
    ///   - lines: (rows) the line each row starts on.
    func encodeLabels(_ texts: [String], lines: [Int], column: String, path: String) throws
        -> (targets: [Float], classNames: [String]?) {
        if let classNames {
            return (try Self.indices(of: texts, in: classNames, lines: lines, path: path), classNames)
        }
        let numbers = texts.map { Float($0) }
        guard numbers.allSatisfy({ $0 != nil }) else {
            let names = Set(texts).sorted()
            return (try Self.indices(of: texts, in: names, lines: lines, path: path), names)
        }
        var targets: [Float] = []
        targets.reserveCapacity(numbers.count)
        for (row, number) in numbers.enumerated() {
            guard let value = number, value.isFinite else {
                throw DataError.invalidLabel(path: path, line: lines[row], value: number ?? .nan, reason: "not a finite number")
            }
            targets.append(value)
        }
        return (targets, nil)
    }

    /// Each text's index in `names`: by exact name, else by value when both read as numbers.
    private static func indices(of texts: [String], in names: [String], lines: [Int], path: String) throws -> [Float] {
        let byName = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let byValue = Dictionary(names.enumerated().compactMap { index, name in Float(name).map { ($0, index) } },
                                 uniquingKeysWith: { first, _ in first })
        return try texts.enumerated().map { row, text in
            guard let index = byName[text] ?? Float(text).flatMap({ byValue[$0] }) else {
                throw DataError.unknownClass(path: path, line: lines[row], name: text, known: names)
            }
            return Float(index)
        }
    }
}
