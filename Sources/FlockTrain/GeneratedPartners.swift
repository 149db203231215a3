import FlockData
import FlockNN
import FlockTensor

/// A job's generated pairs or triplets (`data.pairs`, `data.triplets`): what they ask of the
/// config and the graph, the preprocessing of a row that holds a sample and its partners,
/// and each split served with partners from the split itself.
struct GeneratedPartners {
    /// `data.pairs` or `data.triplets`, for errors.
    let path: String
    /// The graph inputs they feed, anchor first.
    let inputs: [String]
    let tuple: PartnerSampler.Tuple

    init?(_ data: DataConfig) {
        if let pairs = data.pairs {
            (path, inputs, tuple) = ("data.pairs", pairs.inputs, .pairs(positiveFraction: Float(pairs.positiveFraction)))
        } else if let triplets = data.triplets {
            (path, inputs, tuple) = ("data.triplets", triplets.inputs, .triplets)
        } else {
            return nil
        }
    }

    /// `count` distinct input names at `path`.
    static func checkNames(_ names: [String], count: Int, path: String) throws {
        guard names.count == count, Set(names).count == count else {
            throw ConfigError(path: path, "expected \(count) distinct input names, got \(names)")
        }
    }

    /// The config around them: a graph reading exactly `inputs`, from flat rows in memory.
    func validate(_ config: TrainingConfig) throws {
        let data = config.data
        if data.pairs != nil, data.triplets != nil { throw ConfigError(path: "data.triplets", "give data.pairs or data.triplets, not both") }
        if data.streaming { throw ConfigError(path: "data.streaming", "\(path) draws partners from anywhere in the split: read the data in memory (streaming: false)") }
        if data.resolvedShape != nil {
            throw ConfigError(path: data.sequence == nil ? "data.shape" : "data.sequence", "\(path) keeps the feature rows flat: give each of the graph's inputs its shape instead")
        }
        guard let graph = config.graph else {
            throw ConfigError(path: path, "generated partners feed a graph's named inputs (\(inputs.joined(separator: ", "))): write model as {inputs, nodes, outputs}")
        }
        for (index, input) in graph.inputs.enumerated() where input.from == .labels || input.source != nil {
            throw ConfigError(path: "model.inputs[\(index)]", "input '\(input.name)' reads \(input.source == nil ? "the labels" : "a file of its own"); with \(path) the graph's inputs are the anchor and its partners only")
        }
        let names = graph.inputs.map(\.name)
        guard names == inputs else {
            throw ConfigError(path: "model.inputs", "\(path) feeds inputs \(inputs.joined(separator: ", ")) (in this order) but the graph reads \(names.joined(separator: ", "))")
        }
    }

    /// Each input must hold one sample of `width` values (a data row's features).
    func checkShapes(_ graph: ModelGraphConfig, width: Int, file: String) throws {
        for (index, input) in graph.inputs.enumerated() {
            let shape = input.shape ?? [width], count = shape.reduce(1, *)
            guard count == width else {
                throw ConfigError(path: "model.inputs[\(index)].shape", "input '\(input.name)' holds one sample of \(file) (\(width) values), got shape \(shape) (\(count) values)")
            }
        }
    }

    /// `base`, fitted on rows of one sample, for rows of a sample and its partners: the
    /// same per-column statistics for each part, the partners' columns named after their
    /// input (`right.p0`); the labels of pairs become their flags (0 different, 1 same).
    func paired(_ base: Preprocessing) -> Preprocessing {
        var paired = base
        let parts = tuple.width
        paired.featureShape = [parts * base.featureShape.reduce(1, *)]
        paired.featureColumns = base.featureColumns.map { columns in
            columns + inputs.dropFirst().flatMap { input in columns.map { "\(input).\($0)" } }
        }
        paired.imputation = base.imputation.map { values in (0..<parts).flatMap { _ in values } }
        paired.normalizer = base.normalizer.repeated(parts)
        if case .pairs = tuple { paired.classNames = nil }
        return paired
    }

    /// `split` (the `name` split of `file`, preprocessed) with partners drawn from itself;
    /// throws when it lacks a class a draw needs.
    func serve(_ split: Dataset, name: String, file: String, seed: Int) throws -> PartneredSamples {
        let sampler = PartnerSampler(labels: split.targets.scalars, tuple: tuple, seed: UInt64(truncatingIfNeeded: seed))
        if let shortage = sampler.shortage() {
            throw ConfigError(path: path, "the \(name) split of \(file) cannot give every anchor its partners: \(shortage)")
        }
        return PartneredSamples(base: split, sampler: sampler)
    }

    /// Rows for the model from rows of one sample (N, F): each partner input's rows from
    /// `partners` (by input name, (N, F)), or the row itself.
    func rows(_ anchors: Tensor, partners: [String: Tensor]) -> Tensor {
        let count = anchors.shape.first ?? 0, width = count == 0 ? 0 : anchors.count / count
        var joined: [Float] = []
        joined.reserveCapacity(anchors.count * tuple.width)
        for row in 0..<count {
            for input in inputs {
                joined += (partners[input] ?? anchors).scalars[(row * width)..<((row + 1) * width)]
            }
        }
        return Tensor(shape: [count, tuple.width * width], scalars: joined)
    }
}
