/// A pipeline schedule as data: for each of `stages` stages, the ordered actions it runs
/// over one step of `microBatches` micro-batches.
///
/// Stage `s` receives activations from `s − 1` and gradients from `s + 1`; stage 0 reads
/// the micro-batch's input and stage `S − 1` computes the loss, so neither receives on its
/// outer side. Build one with a generator (``gpipe(stages:microBatches:)``,
/// ``oneForwardOneBackward(stages:microBatches:)``, ``zeroBubbleH1(stages:microBatches:)``)
/// or by hand, then check it with ``PipelineScheduleValidator`` before running it:
///
/// ```swift
/// let schedule = try PipelineSchedule.oneForwardOneBackward(stages: 4, microBatches: 8)
/// try PipelineScheduleValidator.validate(schedule, activationBound: schedule.activationBound)
/// print(schedule.grid())   // step × stage table
/// ```
public struct PipelineSchedule: Sendable, Equatable {
    /// Short name of the generator (`"gpipe"`, `"1f1b"`, `"zb-h1"`) or `"custom"`.
    public var name: String
    /// S: number of pipeline stages.
    public let stages: Int
    /// M: micro-batches per step, numbered `0..<M`.
    public let microBatches: Int
    /// `actions[s]`: stage `s`'s actions in the order it runs them.  (S lists)
    public var actions: [[PipelineAction]]
    /// The most micro-batches the generator lets a stage hold forwarded but not yet
    /// backwarded (F done − B or full backward done), over all stages; `nil` when unbounded.
    public var activationBound: Int?

    /// A hand-made schedule; `actions` must hold one list per stage.
    public init(name: String = "custom", stages: Int, microBatches: Int,
                actions: [[PipelineAction]], activationBound: Int? = nil) throws {
        try Self.checkSizes(stages: stages, microBatches: microBatches)
        guard actions.count == stages else {
            throw PipelineScheduleError(kind: .invalidAction, stage: actions.count, actionIndex: nil,
                                        microBatch: nil,
                                        message: "schedule has \(actions.count) action lists for \(stages) stages")
        }
        self.name = name
        self.stages = stages
        self.microBatches = microBatches
        self.actions = actions
        self.activationBound = activationBound
    }

    /// Throws when S or M is below 1 (a user's configuration error).
    static func checkSizes(stages: Int, microBatches: Int) throws {
        guard stages >= 1, microBatches >= 1 else {
            throw PipelineScheduleError(kind: .invalidAction, stage: 0, actionIndex: nil, microBatch: nil,
                                        message: "pipeline needs stages ≥ 1 and microBatches ≥ 1, "
                                            + "got stages \(stages), microBatches \(microBatches)")
        }
    }

    /// A step × stage table of the schedule, for logs and error messages: one row per action
    /// index, one column per stage. `marked` puts `*` after the action at `(stage, index)`
    /// pairs (a deadlock's pending actions, a failing action), `waiting` puts `<` (where
    /// a stage waits on a failed one).
    ///
    /// ```
    /// step | stage 0   | stage 1
    ///    0 | F0        | RECV_F0←0
    ///    1 | SEND_F0→1 | F0
    /// ```
    public func grid(marked: [(stage: Int, index: Int)] = [], waiting: [(stage: Int, index: Int)] = []) -> String {
        let rows = actions.map(\.count).max() ?? 0
        var cells = actions.map { $0.map(\.description) }
        for (marks, symbol) in [(marked, "*"), (waiting, "<")] {
            for mark in marks where cells.indices.contains(mark.stage) && cells[mark.stage].indices.contains(mark.index) {
                cells[mark.stage][mark.index] += symbol
            }
        }
        let headers = (0..<stages).map { "stage \($0)" }
        let widths = (0..<stages).map { s in max(headers[s].count, cells[s].map(\.count).max() ?? 0) }
        let stepWidth = max(4, String(max(rows - 1, 0)).count)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        func line(_ first: String, _ columns: [String]) -> String {
            let padded = columns.enumerated().map { s, text in pad(text, widths[s]) }
            let row = ([first] + padded).joined(separator: " | ")
            return String(row.reversed().drop(while: { $0 == " " }).reversed())
        }
        var lines = [line(pad("step", stepWidth), headers)]
        for step in 0..<rows {
            let number = String(step)
            let label = String(repeating: " ", count: stepWidth - number.count) + number
            lines.append(line(label, (0..<stages).map { cells[$0].indices.contains(step) ? cells[$0][step] : "" }))
        }
        return lines.joined(separator: "\n")
    }
}
