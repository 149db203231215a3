/// The numbers of a CSV file gathered row by row: features row-major, label cells as text
/// until the whole column is seen (names or numbers is decided then).
struct CSVTable {
    let layout: CSVColumnLayout
    let names: [String]
    let missingMarkers: Set<String>
    let path: String
    var features: [Float] = []
    var labelTexts: [String] = []
    var lines: [Int] = []
    var missing: [CSVCell] = []

    init(layout: CSVColumnLayout, names: [String], missingMarkers: Set<String>, path: String) {
        self.layout = layout
        self.names = names
        self.missingMarkers = missingMarkers
        self.path = path
    }

    mutating func append(_ record: CSVRecord) throws {
        guard record.fields.count == names.count else {
            throw DataError.raggedRow(path: path, line: record.line, expected: names.count, found: record.fields.count)
        }
        for column in layout.features {
            let text = record.fields[column]
            if text.isEmpty || missingMarkers.contains(text) {
                features.append(.nan)
                missing.append(CSVCell(line: record.line, column: names[column]))
                continue
            }
            guard let value = Float(text), value.isFinite else {
                throw DataError.nonNumeric(path: path, line: record.line, column: names[column], text: text)
            }
            features.append(value)
        }
        if let label = layout.label {
            let text = record.fields[label]
            guard !text.isEmpty && !missingMarkers.contains(text) else {
                throw DataError.missingLabel(path: path, line: record.line, column: names[label])
            }
            labelTexts.append(text)
        }
        lines.append(record.line)
    }
}
