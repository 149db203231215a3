import FlockNN
import FlockStore

/// Writes `checkpoints/epoch-NNNN/` every epoch (or `step-NNNNNNNN/` every N steps), keeps
/// the best `save_best` by a monitored metric plus the newest, and deletes the rest.
/// `checkpoints/last` always names the newest complete checkpoint.
public struct ModelCheckpoint: Codable, Sendable, Equatable {
    public var monitor: String
    public var mode: MonitorMode
    /// How many of the best checkpoints to keep besides the newest (0: only the newest).
    public var saveBest: Int
    /// Also checkpoint every this many optimizer steps (nil: at epoch ends only).
    public var everyNSteps: Int?

    public struct Kept: Codable, Sendable, Equatable {
        public var name: String
        public var value: Double?
    }

    public struct State: Codable, Sendable, Equatable {
        /// Checkpoints on disk, oldest first, with their monitored values.
        public var kept: [Kept] = []
    }

    public var state = State()
    /// Whether `monitor` is the default rather than written in the config (a run without a
    /// validation split then monitors `loss` instead of `val_loss`).
    var monitorIsDefault = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case monitor, mode
        case saveBest = "save_best"
        case everyNSteps = "every_n_steps"
    }

    public init(monitor: String? = nil, mode: MonitorMode = .auto, saveBest: Int = 1, everyNSteps: Int? = nil) {
        self.monitor = monitor ?? "val_loss"
        monitorIsDefault = monitor == nil
        self.mode = mode
        self.saveBest = saveBest
        self.everyNSteps = everyNSteps
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(monitor: try c.decodeIfPresent(String.self, forKey: .monitor), mode: try c.value(.mode, or: .auto),
                  saveBest: try c.value(.saveBest, or: 1), everyNSteps: try c.decodeIfPresent(Int.self, forKey: .everyNSteps))
    }

    /// Records a new checkpoint and returns the names to delete: all but the newest and
    /// the `saveBest` best (by monitored value; ties keep the older).
    public mutating func added(_ name: String, value: Double?) -> [String] {
        state.kept.removeAll { $0.name == name }
        state.kept.append(Kept(name: name, value: value))
        let newest = name
        let higher = mode.resolved(for: monitor) == .max
        let ranked = state.kept.filter { $0.value != nil }.enumerated().sorted { a, b in
            let x = a.element.value!, y = b.element.value!
            return x == y ? a.offset < b.offset : (higher ? x > y : x < y)
        }.map(\.element.name)
        let keep = Set(ranked.prefix(saveBest) + [newest])
        let removed = state.kept.map(\.name).filter { !keep.contains($0) }
        state.kept.removeAll { !keep.contains($0.name) }
        return removed
    }

    /// The kept checkpoint with the best monitored value (the first of equals); nil when
    /// none has a value.
    public var best: Kept? {
        let higher = mode.resolved(for: monitor) == .max
        return state.kept.filter { $0.value != nil }.min { a, b in higher ? a.value! > b.value! : a.value! < b.value! }
    }

    /// Equal settings and state; whether the monitor was written or defaulted does not matter.
    public static func == (a: ModelCheckpoint, b: ModelCheckpoint) -> Bool {
        a.monitor == b.monitor && a.mode == b.mode && a.saveBest == b.saveBest && a.everyNSteps == b.everyNSteps
            && a.state == b.state
    }

    func validate(path: String, monitorable: [String]) throws {
        try Check.oneOf(monitor, monitorable, "\(path).monitor", what: "metric")
        try Check.nonNegative(saveBest, "\(path).save_best")
        if let everyNSteps { try Check.positive(everyNSteps, "\(path).every_n_steps") }
    }
}
