extension CSVReader {
    /// The label column as targets: numbers stay numbers; labels that are not numbers are
    /// class names, mapped to indices of the sorted distinct names (as scikit-learn's
    /// LabelEncoder), or of `classNames` when given. A column that mixes numbers and names
    /// is an error at the first cell of the rarer kind (a text cell among class numbers
    /// would otherwise become one more class).
    /// - Parameters:
    ///   - texts: (rows) the label cells, none empty.
    ///   - lines: (rows) the line each row starts on.
    func encodeLabels(_ texts: [String], lines: [Int], column: String, path: String) throws
        -> (targets: [Float], classNames: [String]?) {
        if let classNames {
            return (try Self.indices(of: texts, in: classNames, lines: lines, path: path), classNames)
        }
        let numbers = texts.map { Float($0) }
        let numeric = numbers.count(where: { $0 != nil })
        if numeric > 0, numeric < numbers.count {
            // The pattern is the kind most labels have (the first label's on a tie).
            let expectNumbers = numeric * 2 > numbers.count || (numeric * 2 == numbers.count && numbers[0] != nil)
            let row = numbers.firstIndex { ($0 != nil) != expectNumbers }!
            let example = numbers.firstIndex { ($0 != nil) == expectNumbers }!
            throw DataError.mixedLabels(path: path, line: lines[row], column: column, text: texts[row],
                                        expected: expectNumbers ? numeric : numbers.count - numeric, of: numbers.count,
                                        exampleLine: lines[example], example: texts[example], expectNumbers: expectNumbers)
        }
        guard numeric == numbers.count else {
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
