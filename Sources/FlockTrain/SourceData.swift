/// A job's data file as read, before splitting or fitting: the samples and what the file
/// says about them (column names, class names).
struct SourceData {
    let dataset: Dataset
    let featureColumns: [String]?
    let labelColumn: String?
    let classNames: [String]?
    /// The file holding the labels, and the line of its first sample (for label errors).
    let labelsFile: String
    let firstLine: Int

    init(config: TrainingConfig) throws {
        let data = config.data
        if data.resolvedFormat == "csv" {
            dataset = try CSVReader(hasHeader: data.header, labelColumn: data.labelColumn.readerColumn).read(path: data.source)
            featureColumns = nil
            labelColumn = nil
            classNames = nil
            firstLine = data.header ? 2 : 1
        } else {
            dataset = try IDXReader.readDataset(images: data.source, labels: data.labels ?? "")
            featureColumns = nil
            labelColumn = nil
            classNames = nil
            firstLine = 1
        }
        labelsFile = data.labels ?? data.source
    }
}
