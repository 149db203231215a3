/// Which fields of a record are the label and the features: indices into the header.
struct CSVColumnLayout: Sendable {
    /// nil when the file has no label column and the reader allows that.
    var label: Int?
    /// In the order of the features' columns.
    var features: [Int]
}

extension CSVReader {
    /// Resolves the label and feature columns against the header `names` (or "0", "1", …).
    func columnLayout(names: [String], path: String) throws -> CSVColumnLayout {
        var indexByName: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            guard indexByName.updateValue(index, forKey: name) == nil else {
                throw DataError.duplicateColumn(path: path, column: name)
            }
        }
        var label = try labelIndex(names: names, indexByName: indexByName, path: path)
        let features: [Int]
        if let featureColumns {
            features = try featureColumns.map { name in
                guard let index = indexByName[name] else {
                    throw DataError.unknownColumn(path: path, column: name, available: names)
                }
                return index
            }
            if let found = label, features.contains(found) {
                guard labelOptional else { throw DataError.labelAmongFeatures(path: path, column: names[found]) }
                label = nil
            }
        } else {
            features = names.indices.filter { $0 != label }
        }
        guard !features.isEmpty else { throw DataError.noFeatures(path: path) }
        return CSVColumnLayout(label: label, features: features)
    }

    private func labelIndex(names: [String], indexByName: [String: Int], path: String) throws -> Int? {
        switch labelColumn {
        case let .name(name):
            if let index = indexByName[name] { return index }
            if labelOptional { return nil }
            throw DataError.unknownColumn(path: path, column: name, available: names)
        case let .index(index):
            let resolved = index < 0 ? names.count + index : index
            if resolved >= 0 && resolved < names.count { return resolved }
            if labelOptional { return nil }
            throw DataError.unknownColumn(path: path, column: "#\(index)", available: names)
        }
    }
}
