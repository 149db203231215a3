import FlockTrain

/// A run's `config.yaml` as a report reads it: decoded into the typed `TrainingConfig`
/// from the text alone (not validated, and the data files need not exist), or, for a
/// config this version does not decode (an old or hand-edited run), its text and why.
struct RunConfig: Sendable {
    let text: String
    /// nil when the text did not decode.
    let typed: TrainingConfig?
    /// Why the text did not decode; nil when it did.
    let problem: String?

    init(text: String) {
        self.text = text
        do {
            typed = try ConfigLoader.decode(TrainingConfig.self, yaml: text, fileName: "config.yaml")
            problem = nil
        } catch {
            typed = nil
            problem = UnreadConfigNote.reason(error)
        }
    }

    /// The loss's name (`cross_entropy`; the default when the config gives none).
    var lossName: String? { typed?.loss.name }

    var earlyStopping: EarlyStopping? { typed?.callbacks.earlyStopping }

    /// The quantity a run's best epoch is judged by and which way is better: early
    /// stopping's monitor, else the kept checkpoints' (`mode: auto` resolved from
    /// `MetricName`); `val_loss` going down when there is neither or the config was not read.
    static func bestEpochMonitor(_ config: TrainingConfig?) -> (name: String, mode: MonitorMode) {
        let callbacks = config?.callbacks
        let monitored = callbacks?.earlyStopping.map { ($0.monitor, $0.mode) }
            ?? callbacks?.modelCheckpoint.map { ($0.monitor, $0.mode) } ?? ("val_loss", .auto)
        return (monitored.0, monitored.1.resolved(for: monitored.0))
    }

    /// The learning rate's factor after each NaN rollback; nil unless TerminateOnNaN rolls back.
    var rollbackLRFactor: Double? {
        guard let terminate = typed?.callbacks.terminateOnNaN, terminate.action == .rollback else { return nil }
        return terminate.lrFactor
    }
}
