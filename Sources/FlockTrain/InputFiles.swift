import FlockData
import FlockNN
import FlockTensor

/// Graph inputs read from files of their own (`model.inputs[i].source`: CSV, or IDX as
/// MNIST ships its images, by the extension): each file's rows align with the data file's,
/// and its columns are appended to every feature row when the data is read. A batch stays one (B, columns) tensor, so splitting, shuffling,
/// data parallelism, normalization (fitted per column on the training split) and
/// checkpoints treat the appended columns as the row's own; the inputs with a source are
/// listed last, so their column ranges are the appended ones.
struct InputFiles {
    struct File {
        let input: String
        let path: String
        /// Values per row: the input's shape, flattened.
        let width: Int
    }

    let files: [File]

    init(graph: ModelGraphConfig?) {
        files = (graph?.inputs ?? []).compactMap { input in
            input.source.map { File(input: input.name, path: $0, width: (input.shape ?? [0]).reduce(1, *)) }
        }
    }

    var isEmpty: Bool { files.isEmpty }
    /// Columns the files add to each row.
    var width: Int { files.reduce(0) { $0 + $1.width } }

    /// `features` (N, C) with every file's columns appended, (N, C + width), and the
    /// appended columns' names (`input.column`). `paths` replaces a file by input name
    /// (`flock predict --input name=FILE`); `dataFile` names the rows' file in errors.
    func append(to features: Tensor, dataFile: String, paths: [String: String] = [:]) throws -> (features: Tensor, columns: [String]) {
        let rows = features.shape.first ?? 0, own = rows == 0 ? 0 : features.count / rows
        var tables: [(values: [Float], width: Int)] = [(features.scalars, own)]
        var columns: [String] = []
        for file in files {
            let path = paths[file.input] ?? file.path
            let (values, names) = try Self.read(path)
            let count = values.shape.first ?? 0
            guard count == rows else {
                throw DataError.unreadable(path: path, reason: "input '\(file.input)' reads \(count) rows here but \(dataFile) has \(rows): the rows must align")
            }
            guard names.count == file.width else {
                throw DataError.unreadable(path: path, reason: "input '\(file.input)' has shape of \(file.width) values but this file has \(names.count) \(Self.isCSV(path) ? "columns" : "values per sample")")
            }
            tables.append((values.scalars, file.width))
            columns += names.map { "\(file.input).\($0)" }
        }
        let total = tables.reduce(0) { $0 + $1.width }
        var joined = [Float](repeating: 0, count: rows * total)
        var offset = 0
        for table in tables {
            for row in 0..<rows {
                joined.replaceSubrange((row * total + offset)..<(row * total + offset + table.width),
                                       with: table.values[(row * table.width)..<((row + 1) * table.width)])
            }
            offset += table.width
        }
        return (Tensor(shape: [rows, total], scalars: joined), columns)
    }

    /// A file's rows (N, values) and a name per value: a CSV file's header, or for an IDX
    /// file (any other name: `right.idx`, `t10k-images-idx3-ubyte`) each sample flattened,
    /// its values numbered from 0.
    static func read(_ path: String) throws -> (values: Tensor, names: [String]) {
        guard isCSV(path) else {
            let samples = try IDXReader.read(path: path)
            guard let rows = samples.shape.first else { throw DataError.invalidIDX(path: path, reason: "an input's file needs at least one dimension (samples)") }
            let width = rows == 0 ? samples.shape.dropFirst().reduce(1, *) : samples.count / rows
            return (samples.reshaped([rows, width]), (0..<width).map(String.init))
        }
        let contents = try CSVReader(labelColumn: .name(""), labelOptional: true).readContents(path: path)
        if let first = contents.missing.first { throw DataError.missingValue(path: path, line: first.line, column: first.column) }
        return (contents.features, contents.featureColumns)
    }

    /// CSV by the `.csv` extension, as `data.format` decides; IDX otherwise.
    static func isCSV(_ path: String) -> Bool { path.lowercased().hasSuffix(".csv") }

    /// Checks what the appended columns need: rows read whole from memory, not reshaped.
    func validate(_ data: DataConfig) throws {
        guard let first = files.first else { return }
        if data.streaming { throw ConfigError(path: "data.streaming", "input '\(first.input)' reads a file of its own (source): read the data in memory (streaming: false)") }
        if data.resolvedFormat != .csv { throw ConfigError(path: "data.source", "input '\(first.input)' reads a file of its own (source): its rows align with a CSV data file's only") }
        if data.resolvedShape != nil { throw ConfigError(path: "data.shape", "input '\(first.input)' reads a file of its own (source): the feature rows stay flat (give each input its shape instead)") }
    }
}
