import FlockTensor

/// Updates parameters from their gradients. Each optimizer is one loop over the
/// store's flat buffers; the same loop clears the gradients for the next step.
///
/// `step` reads the gradients as they stand (already averaged across ranks, clipped and
/// penalised).
public protocol Optimizer {
    /// Applies one update to each span of the flat buffers with the span's learning rate,
    /// then zeroes those gradients. Elements outside every span (frozen parameters, another
    /// phase's group) and their state are left as they are.
    /// The state holds `stateCount` values per buffer; span s reads and writes them at
    /// `s.stateStart…` (the store's own offsets unless the state is a shard's: ZeRO).
    mutating func step(_ parameters: ParameterStore, spans: [UpdateSpan], stateCount: Int)
    /// Number of updates applied so far.
    var stepCount: Int { get }
    /// The optimizer's state for checkpoints: named buffers, each one value per parameter
    /// scalar in the store's layout (empty before the first step).
    var stateBuffers: [String: [Float]] { get }
    /// Restores what `stateBuffers` and `stepCount` described.
    mutating func restore(stateBuffers: [String: [Float]], stepCount: Int) throws
    /// The values of state the optimizer keeps per parameter once it has stepped (Adam 2,
    /// momentum 1, plain SGD 0): what memory estimates count before any is allocated.
    var stateValuesPerParameter: Int { get }
}

/// A checkpointed optimizer state that does not fit this optimizer.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// A contiguous run of the flat parameter buffer updated with one learning rate (a
/// parameter group's slots, merged where they are adjacent).
public struct UpdateSpan: Sendable, Equatable {
    public let range: Range<Int>
    public let learningRate: Float
    /// Where the span's first element's optimizer state is: `range.lowerBound` for a state
    /// laid out as the store, elsewhere for a shard's (ZeRO keeps only its rows' state).
    public let stateStart: Int

    public init(range: Range<Int>, learningRate: Float, stateStart: Int? = nil) {
        self.range = range
        self.learningRate = learningRate
        self.stateStart = stateStart ?? range.lowerBound
    }
}

extension Optimizer {
    /// Two (Adam's, the most any built-in optimizer keeps) for an optimizer that does not say.
    public var stateValuesPerParameter: Int { 2 }

    /// One update of every parameter with learning rate `learningRate`, then zeroes the
    /// gradients.
    public mutating func step(_ parameters: ParameterStore, learningRate: Float) {
        step(parameters, spans: [UpdateSpan(range: 0..<parameters.count, learningRate: learningRate)])
    }

    /// One update whose state follows the store's layout (one value per parameter).
    public mutating func step(_ parameters: ParameterStore, spans: [UpdateSpan]) {
        step(parameters, spans: spans, stateCount: parameters.count)
    }

    /// Rejects a checkpointed state written by another kind of optimizer.
    static func checkNames(_ buffers: [String: [Float]], allowed: Set<String>, optimizer: String) throws {
        if let extra = buffers.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw OptimizerStateError(description: "optimizer state has a buffer '\(extra)' that \(optimizer) does not use (expected \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// Rejects a checkpointed state that holds some of this optimizer's buffers but not all
    /// (a state is all of them, or none before the first step).
    static func checkComplete(_ buffers: [String: [Float]], names: [String], optimizer: String) throws {
        guard !buffers.isEmpty, let missing = names.first(where: { buffers[$0] == nil }) else { return }
        throw OptimizerStateError(description: "optimizer state has \(buffers.keys.sorted().joined(separator: ", ")) but no \(missing), which \(optimizer) needs")
    }

    /// A fresh state buffer on the first step. A restored buffer of another size is a
    /// programmer error: restoring checks the sizes (`Trainer` names the file and buffer).
    static func sized(_ state: inout [Float], _ count: Int) {
        if state.isEmpty { state = [Float](repeating: 0, count: count) }
        precondition(state.count == count, "an optimizer state of \(state.count) values for \(count) parameters")
    }
}
