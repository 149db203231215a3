import FlockData
import FlockNN
import FlockParallel
import FlockStore
import FlockTensor
import Foundation

/// Predictions for a data file, and writing them out.
extension Predictor {
    /// Every row of the CSV file `path`, in order, through the saved preprocessing and the
    /// model; metrics too when the file has the label column. `output`: a graph's named output.
    /// `inputFiles`: for each graph input with a file of its own (`source:`), the file whose
    /// rows align with `path`'s, by input name.
    public func predict(csv path: String, output: String? = nil, inputFiles: [String: String] = [:]) throws -> Result {
        let read = try readCSV(path, inputFiles: inputFiles)
        return try predict(features: read.features, targets: read.targets, source: path, output: output)
    }

    /// The training columns of the CSV file `path` in the training order, found by name,
    /// then each input file's columns; the label may be absent. A model trained on
    /// generated pairs or triplets reads each row as the anchor, and each partner from the
    /// file `inputFiles` gives for its input (rows aligned with `path`'s) or the row itself;
    /// its targets are left out (a row's label is not its pair's flag).
    func readCSV(_ path: String, inputFiles: [String: String] = [:]) throws -> (features: Tensor, targets: Tensor?) {
        let files = InputFiles(graph: config.graph), partners = config.data.partners
        let fileInputs = files.files.map(\.input) + (partners?.inputs.dropFirst() ?? [])
        if let stray = inputFiles.keys.sorted().first(where: { !fileInputs.contains($0) }) {
            throw ConfigError(path: "input", "unknown input '\(stray)' (inputs read from a file of their own: \(fileInputs.joined(separator: ", ")))")
        }
        if let missing = files.files.first(where: { inputFiles[$0.input] == nil }) {
            throw ConfigError(path: "input", "input '\(missing.input)' reads a file of its own: pass --input \(missing.input)=FILE, its rows aligned with \(path)'s")
        }
        let columns = preprocessing.featureColumns.map { Array($0.dropLast(files.width).prefix($0.count / (partners?.tuple.width ?? 1))) }
        let read = try readRows(path, columns: columns)
        if let partners {
            let rows = read.features.shape.first ?? 0
            var given: [String: Tensor] = [:]
            for input in partners.inputs.dropFirst() {
                guard let file = inputFiles[input] else { continue }
                let partner = try readRows(file, columns: columns).features
                guard partner.shape.first == rows else {
                    throw DataError.unreadable(path: file, reason: "input '\(input)' reads \(partner.shape.first ?? 0) rows here but \(path) has \(rows): the rows must align")
                }
                given[input] = partner
            }
            return (partners.rows(read.features, partners: given), nil)
        }
        guard !files.isEmpty else { return (read.features, read.targets) }
        return (try files.append(to: read.features, dataFile: path, paths: inputFiles).features, read.targets)
    }

    /// The CSV file `path`'s `columns` (by name; nil: the reader's), label optional.
    private func readRows(_ path: String, columns: [String]?) throws -> (features: Tensor, targets: Tensor?) {
        let data = config.data
        let reader = CSVReader(hasHeader: data.header, labelColumn: data.labelColumn.readerColumn, delimiter: data.delimiterCharacter,
                               classNames: preprocessing.classNames, featureColumns: columns, labelOptional: true)
        let read = try reader.readContents(path: path)
        if let first = read.missing.first, preprocessing.imputation == nil {
            throw DataError.missingValue(path: path, line: first.line, column: first.column)
        }
        return (read.features, read.targets)
    }

    /// Every sample of the IDX features file `path` (N, d…), in order, with metrics when
    /// `labels` names its IDX labels file (N).
    public func predict(idx path: String, labels: String? = nil, output: String? = nil) throws -> Result {
        let images = try IDXReader.read(path: path)
        guard let rows = images.shape.first else {
            throw DataError.invalidIDX(path: path, reason: "a features file needs at least one dimension (samples)")
        }
        let targets = try labels.map { labelsPath in
            let targets = try IDXReader.read(path: labelsPath)
            guard targets.rank == 1 else {
                throw DataError.invalidIDX(path: labelsPath, reason: "labels must be one-dimensional, got shape \(targets.shape)")
            }
            guard targets.count == rows else {
                throw DataError.mismatchedCounts(features: path, labels: labelsPath, featureCount: rows, labelCount: targets.count)
            }
            return targets
        }
        let features = images.reshaped([rows, images.count / max(rows, 1)])
        // Generated partners: each sample paired with itself, no pair flags to score.
        if let partners = config.data.partners {
            return try predict(features: partners.rows(features, partners: [:]), source: path, output: output)
        }
        return try predict(features: features, targets: targets, source: path, output: output)
    }

    /// The predictions as CSV (`prediction` column, then one `p_<class>` column per class
    /// with `probabilities`) or JSON lines (`{"prediction": …, "probabilities": {…}}`).
    public static func format(_ result: Result, classNames: [String], asJSONLines: Bool, probabilities: Bool) throws -> String {
        var lines: [String] = []
        let withProbabilities = probabilities && result.probabilities != nil
        if asJSONLines {
            for (row, label) in result.labels.enumerated() {
                var object: [String: Any] = ["prediction": label]
                if withProbabilities {
                    object["probabilities"] = Dictionary(uniqueKeysWithValues: zip(classNames, result.probabilities![row]))
                }
                lines.append(try FlockJSON.string(object))
            }
        } else {
            lines.append((["prediction"] + (withProbabilities ? classNames.map { "p_\($0)" } : [])).map(csvField).joined(separator: ","))
            for (row, label) in result.labels.enumerated() {
                let values = withProbabilities ? result.probabilities![row].map { String($0) } : []
                lines.append(([csvField(label)] + values).joined(separator: ","))
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The names of the model's classes in output order (indices when the labels had none).
    public var classNames: [String] {
        let count = preprocessing.classCount ?? 0
        return (0..<count).map(preprocessing.className)
    }

    /// A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
