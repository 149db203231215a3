import FlockNN

// Flock's pruner kinds (`PrunerRegistry.standard`), each with exactly its own fields.
// The defaults and ranges are the ones sweep files have always had. Resources are epochs.

/// `pruner: {name: none}` (the default): every trial runs to the end.
public struct NoPrunerSpec: PrunerSpec {
    public static let typeName = "none"

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectFields(of: "pruner 'none'")
    }

    public func make(epochs: Int) -> any Pruner { NoPruner() }
}

/// `pruner: {name: median, startup_trials: 5, warmup_steps: 0}`: `MedianPruner`.
public struct MedianPrunerSpec: PrunerSpec {
    public static let typeName = "median"
    /// Completed trials needed before any trial is pruned.
    public var startupTrials = 5
    /// Epochs a trial always runs before it may be pruned.
    public var warmupSteps = 0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case startupTrials = "startup_trials"
        case warmupSteps = "warmup_steps"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.fields(CodingKeys.self, of: "pruner 'median'")
        startupTrials = try c.int(.startupTrials, or: startupTrials, in: 0...1_000_000)
        warmupSteps = try c.int(.warmupSteps, or: warmupSteps, in: 0...1_000_000)
    }

    public func make(epochs: Int) -> any Pruner {
        MedianPruner(startupTrials: startupTrials, warmupSteps: warmupSteps)
    }
}

/// `pruner: {name: asha, min_resource: 1, reduction_factor: 3}`: asynchronous successive
/// halving (`SuccessiveHalvingPruner`).
public struct SuccessiveHalvingPrunerSpec: PrunerSpec {
    public static let typeName = "asha"
    public var rungs: HalvingRungs

    public init(from decoder: any Decoder) throws {
        rungs = try HalvingRungs(decoder.fields(HalvingRungs.CodingKeys.self, of: "pruner 'asha'"))
    }

    public func make(epochs: Int) -> any Pruner {
        SuccessiveHalvingPruner(minResource: rungs.minResource, reductionFactor: rungs.reductionFactor)
    }
}

/// `pruner: {name: hyperband, min_resource: 1, max_resource: 27, reduction_factor: 3}`:
/// `HyperbandPruner`, successive halving in brackets that start pruning at different rungs.
public struct HyperbandPrunerSpec: PrunerSpec {
    public static let typeName = "hyperband"
    public var rungs: HalvingRungs
    /// The most epochs a trial gets; nil: the base config's epochs.
    public var maxResource: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case minResource = "min_resource"
        case reductionFactor = "reduction_factor"
        case maxResource = "max_resource"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.fields(CodingKeys.self, of: "pruner 'hyperband'")
        rungs = try HalvingRungs(decoder.container(keyedBy: HalvingRungs.CodingKeys.self))
        maxResource = c.contains(.maxResource) ? try c.int(.maxResource, or: nil, in: rungs.minResource...1_000_000) : nil
    }

    public func make(epochs: Int) -> any Pruner {
        HyperbandPruner(minResource: rungs.minResource, maxResource: maxResource ?? max(epochs, rungs.minResource),
                        reductionFactor: rungs.reductionFactor)
    }
}

/// The rungs of successive halving, ASHA's fields and Hyperband's: rung k at epoch
/// min_resource · η^k.
public struct HalvingRungs: Sendable {
    /// Epochs at the first rung.
    public var minResource = 1
    /// η: a rung keeps the best 1/η of the trials that reach it.
    public var reductionFactor = 3

    enum CodingKeys: String, CodingKey, CaseIterable {
        case minResource = "min_resource"
        case reductionFactor = "reduction_factor"
    }

    init(_ c: KeyedDecodingContainer<CodingKeys>) throws {
        // At most 10^6 epochs and η ≤ 1000, so rung steps never overflow.
        minResource = try c.int(.minResource, or: minResource, in: 1...1_000_000)
        reductionFactor = try c.int(.reductionFactor, or: reductionFactor, in: 2...1000)
    }
}
