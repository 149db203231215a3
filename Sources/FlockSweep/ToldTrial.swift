import FlockStore
import FlockTrain

/// A finished trial from outside the study (another tool's study: `warm_start:`) that the
/// sampler is told before it suggests anything, as Optuna's `study.add_trial` does: its
/// parameters are never suggested again and, complete or pruned with a value, it is an
/// observation. It is not a trial of the store: it takes no trial number and no budget.
public struct ToldTrial: Sendable, Equatable {
    public let params: [String: ParameterValue]
    /// The objective as reported (not sign-flipped); for a pruned trial its last value.
    public let value: Double?
    /// `.complete` or `.pruned` (unfinished and failed trials are not told).
    public let state: TrialRecord.State

    public init(params: [String: ParameterValue], value: Double?, state: TrialRecord.State) {
        self.params = params
        self.value = value
        self.state = state
    }
}

/// `warm_start:` in a sweep file: the Optuna study whose finished trials the sampler is
/// told first.
///
/// ```yaml
/// warm_start: {optuna_storage: sqlite:///earlier.db, study: digits-lr}
/// ```
public struct WarmStartSource: Sendable, Equatable {
    /// The SQLite file of the Optuna RDB storage, absolute (a relative `sqlite:///path` is
    /// taken from the sweep file's folder).
    public let storagePath: String
    public let study: String
}
