/// One step of one pipeline stage's schedule: a compute pass on a micro-batch, or a
/// point-to-point transfer with a neighbouring stage.
///
/// A stage's schedule is an ordered `[PipelineAction]`; the stage itself is implied by the
/// list's position in ``PipelineSchedule/actions``. Backward comes either split — input
/// gradient ``backwardInput(microBatch:)`` (B) then weight gradient
/// ``backwardWeight(microBatch:)`` (W), as zero-bubble schedules need — or whole
/// (``backward(microBatch:)``, B and W at once), never both for one micro-batch.
///
/// Printable forms follow PyTorch's `torch.distributed.pipelining` (`1F0` is stage 1's
/// forward of micro-batch 0): `F0`, `B0`, `W0`, `BW0` (full backward), `SEND_F0→1`
/// (activation of micro-batch 0 to stage 1), `RECV_B0←2` (gradient of micro-batch 0 from
/// stage 2). ``label(stage:)`` prefixes the stage.
public enum PipelineAction: Hashable, Sendable, CustomStringConvertible {
    /// What a transfer carries: a forward activation (to the next stage) or the gradient of
    /// the loss with respect to that activation (back to the previous stage).
    public enum TransferKind: Hashable, Sendable {
        case activation
        case gradient

        /// `F` for activations (they feed a forward), `B` for gradients (they feed a backward).
        var letter: String { self == .activation ? "F" : "B" }
    }

    /// Forward pass (F): consumes the micro-batch's input (or activation), keeps what the
    /// backward needs.
    case forward(microBatch: Int)
    /// Input-gradient pass (B): the gradient with respect to the stage's input.
    case backwardInput(microBatch: Int)
    /// Weight-gradient pass (W): accumulates parameter gradients; needs B done first.
    case backwardWeight(microBatch: Int)
    /// Full backward (B and W together), as GPipe and 1F1B run it.
    case backward(microBatch: Int)
    /// Blocking send of `kind` for `microBatch` to stage `to`.
    case send(TransferKind, microBatch: Int, to: Int)
    /// Blocking receive of `kind` for `microBatch` from stage `from`.
    case receive(TransferKind, microBatch: Int, from: Int)

    /// The micro-batch the action works on or moves data for.
    public var microBatch: Int {
        switch self {
        case .forward(let m), .backwardInput(let m), .backwardWeight(let m), .backward(let m),
             .send(_, let m, _), .receive(_, let m, _):
            return m
        }
    }

    /// Whether the action computes (F, B, W, full backward) rather than communicates.
    public var isCompute: Bool {
        switch self {
        case .send, .receive: return false
        default: return true
        }
    }

    /// Whether the action ends the micro-batch's input gradient (B or full backward).
    public var completesInputGradient: Bool {
        switch self {
        case .backwardInput, .backward: return true
        default: return false
        }
    }

    /// Whether the action ends the micro-batch's weight gradient (W or full backward).
    public var completesWeightGradient: Bool {
        switch self {
        case .backwardWeight, .backward: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .forward(let m): return "F\(m)"
        case .backwardInput(let m): return "B\(m)"
        case .backwardWeight(let m): return "W\(m)"
        case .backward(let m): return "BW\(m)"
        case .send(let kind, let m, let peer): return "SEND_\(kind.letter)\(m)→\(peer)"
        case .receive(let kind, let m, let peer): return "RECV_\(kind.letter)\(m)←\(peer)"
        }
    }

    /// The action with its stage in front, PyTorch style: `1F0`, `0SEND_F0→1`.
    public func label(stage: Int) -> String { "\(stage)\(description)" }
}
