import FlockData
import FlockNN
import FlockTensor

/// `data.streaming: true`: the splits read their file a block of rows at a time.
extension TrainingData {
    /// The same splits and preprocessing as in memory — the split is drawn from the row
    /// count, the statistics are gathered in one pass over the training rows — but only
    /// the row numbers and targets are held; features are read per batch.
    static func streamed(config: TrainingConfig, fitted: Preprocessing?) throws -> TrainingData {
        let data = config.data
        let file = try StreamedFile(config: config)
        let shape = data.resolvedShape ?? file.sampleShape
        guard shape.reduce(1, *) == file.blocks.rowWidth else {
            throw ConfigError(path: "data.\(data.sequence == nil ? "shape" : "sequence")", "\(shape) holds \(shape.reduce(1, *)) values per sample but \(data.source) has \(file.blocks.rowWidth) features")
        }
        guard file.blocks.rowWidth > 0 else { throw DataError.noFeatures(path: data.source) }
        let classCount = try classCount(of: file.labels, classNames: file.classNames, labelColumn: file.labelColumn,
                                        labelsFile: file.labelsFile, lines: file.lines, config: config)
        let count = file.blocks.rowCount, seed = UInt64(config.seed)
        if let fold = data.fold, count < fold.count {
            throw ConfigError(path: "data.fold.count", "\(fold.count) folds need at least \(fold.count) samples; \(data.source) has \(count)")
        }
        let (training, validation) = data.fold.map { Dataset.splitIndices(fold: $0.index, of: $0.count, count: count, seed: seed) }
            ?? Dataset.splitIndices(count: count, validationFraction: data.validationSplit, seed: seed)
        guard !training.isEmpty else { throw nothingToTrainOn(data, samples: count) }
        let trainingRows = training.sorted(), validationRows = validation.sorted()
        let preprocessing = try fitted ?? fit(file: file, trainingRows: trainingRows, shape: shape, classCount: classCount,
                                              config: config)
        let prepare: @Sendable (Tensor) -> Tensor = { raw in
            preprocessing.normalizer.apply(Preprocessing.impute(raw, with: preprocessing.imputation))
                .reshaped([raw.shape[0]] + preprocessing.featureShape)
        }
        let split = { (rows: [Int], window: Int) in
            StreamedDataset(blocks: file.blocks, rows: rows, featureShape: preprocessing.featureShape,
                            targets: preprocessing.trainingTargets(file.labels(of: rows)),
                            window: window, prepare: prepare)
        }
        return TrainingData(preprocessing: preprocessing, training: split(trainingRows, data.chunkRows),
                            validation: split(validationRows, 1), shuffleWindow: data.chunkRows)
    }

    /// The preprocessing fitted in one pass over the file's blocks, counting training rows only.
    private static func fit(file: StreamedFile, trainingRows: [Int], shape: [Int], classCount: Int?,
                            config: TrainingConfig) throws -> Preprocessing {
        let data = config.data, blocks = file.blocks
        var isTraining = [Bool](repeating: false, count: blocks.rowCount)
        for row in trainingRows { isTraining[row] = true }
        let method = data.sequence?.tokens != nil ? .none : Normalizer.Method(rawValue: data.normalization.rawValue) ?? .none
        var statistics = FeatureStatistics(width: blocks.rowWidth)
        // Nothing to fit and nothing to check: skip the pass over the file.
        let needsPass = method != .none || file.hasMissing || data.sequence != nil
        for block in 0..<(needsPass ? blocks.blockCount : 0) {
            let first = blocks.blockStarts[block], end = blocks.blockStarts[block + 1]
            let values = try blocks.features(ofBlock: block)
            try data.sequence?.checkTokens(Tensor(shape: [end - first, blocks.rowWidth], scalars: values), file: data.source,
                                           lines: Array(file.lines[first..<end]))
            values.withUnsafeBufferPointer { values in statistics.add(values) { isTraining[first + $0] } }
        }
        let imputation = file.hasMissing ? statistics.means : nil
        let targets = file.labels(of: trainingRows)
        return Preprocessing(featureColumns: file.featureColumns, labelColumn: file.labelColumn, featureShape: shape,
                             imputation: imputation, normalizer: statistics.normalizer(method, imputation: imputation),
                             classNames: file.classNames, classCount: classCount,
                             targetScaling: classCount == nil && data.targetNormalization == .standard ? TargetScaling(fittingOn: targets) : nil)
    }

    init(preprocessing: Preprocessing, training: any SampleSource, validation: any SampleSource, shuffleWindow: Int?) {
        self.preprocessing = preprocessing
        normalizer = preprocessing.normalizer
        classCount = preprocessing.classCount
        self.training = training
        self.validation = validation
        self.shuffleWindow = shuffleWindow
    }
}

/// A job's data file opened for streaming: its blocks, and what is small enough to hold
/// (labels, column names, the line each row starts on).
private struct StreamedFile {
    let blocks: any RowBlocks
    let sampleShape: [Int]
    let labels: [Float]
    let labelsFile: String
    let lines: [Int]
    let featureColumns: [String]?
    let labelColumn: String?
    let classNames: [String]?
    let hasMissing: Bool

    /// The labels of file rows `rows`, in that order: (rows.count).
    func labels(of rows: [Int]) -> Tensor {
        Tensor(shape: [rows.count], scalars: rows.map { labels[$0] })
    }

    init(config: TrainingConfig) throws {
        let data = config.data
        labelsFile = data.labels ?? data.source
        guard data.resolvedFormat == .csv else {
            let images = try IDXRowBlocks(path: data.source)
            let labels = try IDXReader.read(path: data.labels ?? "")
            guard labels.rank == 1 else {
                throw DataError.invalidIDX(path: labelsFile, reason: "labels must be one-dimensional, got shape \(labels.shape)")
            }
            guard labels.count == images.rowCount else {
                throw DataError.mismatchedCounts(features: data.source, labels: labelsFile,
                                                 featureCount: images.rowCount, labelCount: labels.count)
            }
            (blocks, sampleShape, self.labels) = (images, images.sampleShape, labels.scalars)
            lines = Array(1...max(images.rowCount, 1))
            (featureColumns, labelColumn, classNames, hasMissing) = (nil, nil, nil, false)
            return
        }
        let reader = CSVReader(hasHeader: data.header, labelColumn: data.labelColumn.readerColumn, delimiter: data.delimiterCharacter)
        let csv = try CSVRowBlocks(path: data.source, reader: reader)
        guard let labels = csv.targets else { preconditionFailure("a required label column was not read") }
        if let first = csv.firstMissing, data.missing != .mean {
            throw DataError.missingValue(path: data.source, line: first.line, column: first.column)
        }
        (blocks, sampleShape, self.labels, lines) = (csv, [csv.rowWidth], labels, csv.lines)
        (featureColumns, labelColumn, classNames, hasMissing) = (csv.featureColumns, csv.labelColumn, csv.classNames, csv.firstMissing != nil)
    }
}
