import FlockData

/// A job's data file as read, before splitting or fitting: the samples and what the file
/// says about them (column names, class names, missing cells, where each row starts).
struct SourceData {
    let dataset: Dataset
    let featureColumns: [String]?
    let labelColumn: String?
    let classNames: [String]?
    /// Feature cells that were empty or a missing marker (NaN in `dataset`).
    let missing: [CSVCell]
    /// The file holding the labels, and the line each sample starts on (for label errors).
    let labelsFile: String
    let lines: [Int]

    init(config: TrainingConfig) throws {
        let data = config.data
        labelsFile = data.labels ?? data.source
        guard data.resolvedFormat == .csv else {
            dataset = try IDXReader.readDataset(images: data.source, labels: data.labels ?? "")
            (featureColumns, labelColumn, classNames, missing) = (nil, nil, nil, [])
            lines = Array(1...max(dataset.count, 1))
            return
        }
        let reader = CSVReader(hasHeader: data.header, labelColumn: data.labelColumn.readerColumn, delimiter: data.delimiterCharacter)
        let contents = try reader.readContents(path: data.source)
        guard let dataset = contents.dataset else { throw DataError.empty(path: data.source) }
        self.dataset = dataset
        featureColumns = contents.featureColumns
        labelColumn = contents.labelColumn
        classNames = contents.classNames
        missing = contents.missing
        lines = contents.lines
        if let first = missing.first, data.missing != .mean {
            throw DataError.missingValue(path: data.source, line: first.line, column: first.column)
        }
    }
}
