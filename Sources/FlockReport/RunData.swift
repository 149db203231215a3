/// One epoch of a run: `loss`, each metric, their `val_` forms, `lr`, `seconds`,
/// `samples_per_second`, as in a line of `metrics.jsonl`.
struct EpochValues: Sendable, Equatable {
    /// 1-based, as logged.
    public var epoch: Int
    public var values: [String: Double]

    public init(epoch: Int, values: [String: Double]) {
        self.epoch = epoch
        self.values = values
    }
}

/// Rollbacks after a non-finite loss (TerminateOnNaN `action: rollback`), as the run's
/// kept checkpoints record them: `count` rollbacks had happened by the end of `byEpoch`.
struct NaNRollbacks: Sendable, Equatable {
    public var count: Int
    /// The earliest kept checkpoint's epoch that counts them all; the rollbacks happened in
    /// this epoch or before it (older checkpoints may have been deleted).
    public var byEpoch: Int
}

/// What a report shows of one training run, read from its directory (`metrics.jsonl`,
/// `summary.json`, `config.yaml`, `checkpoints/`) and from the store's record of it.
struct RunData: Sendable {
    public var name: String
    public var directory: String?
    /// `running`, `completed`, `stopped_early`, `pruned`, `failed`, or `unknown`.
    public var status: String
    public var epochs: [EpochValues]
    /// Epochs of the checkpoints the run kept (best and newest).
    public var checkpointEpochs: [Int]
    public var stoppedEarly: Bool
    public var rollbacks: NaNRollbacks?
    /// The resolved config: its YAML and, when that decodes, the typed config.
    var config: RunConfig?
    public var error: String?

    public init(name: String, directory: String? = nil, status: String = "unknown", epochs: [EpochValues] = [],
                checkpointEpochs: [Int] = [], stoppedEarly: Bool = false, rollbacks: NaNRollbacks? = nil,
                config: String? = nil, error: String? = nil) {
        self.name = name
        self.directory = directory
        self.status = status
        self.epochs = epochs
        self.checkpointEpochs = checkpointEpochs
        self.stoppedEarly = stoppedEarly
        self.rollbacks = rollbacks
        self.config = config.map(RunConfig.init(text:))
        self.error = error
    }

    /// Names of the quantities logged per epoch, training first then validation, without
    /// the bookkeeping columns: `["loss", "accuracy", "val_loss", "val_accuracy"]`.
    public var metricNames: [String] {
        let bookkeeping: Set<String> = ["epoch", "lr", "seconds", "samples_per_second"]
        let names = Set(epochs.flatMap(\.values.keys)).subtracting(bookkeeping)
        return names.sorted { (order($0), $0) < (order($1), $1) }
    }

    /// The quantities without their `val_` prefix: `["loss", "accuracy"]`, loss first.
    public var baseMetricNames: [String] {
        var seen: [String] = []
        for name in metricNames {
            let base = name.hasPrefix("val_") ? String(name.dropFirst(4)) : name
            if !seen.contains(base) { seen.append(base) }
        }
        return seen.sorted { ($0 == "loss" ? 0 : 1, $0) < ($1 == "loss" ? 0 : 1, $1) }
    }

    /// `(epoch, value)` of one quantity, epochs where it is missing or not finite left out.
    public func curve(_ name: String) -> [(epoch: Int, value: Double)] {
        epochs.compactMap { line in line.values[name].flatMap { $0.isFinite ? (line.epoch, $0) : nil } }
    }

    private func order(_ name: String) -> Int { name.hasPrefix("val_") ? 1 : 0 }
}
