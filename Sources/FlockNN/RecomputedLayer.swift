import FlockTensor

/// A layer trained with activation recomputation (Chen et al., "Training deep nets with
/// sublinear memory cost", 2016; PyTorch's `checkpoint`), or under ZeRO stage 3 the unit
/// whose parameters are gathered around each use.
///
/// Replaying (`replays`, what `recompute: true` asks for): its training forward keeps only
/// its input and output, giving each intermediate back to the tape's pool as soon as the
/// next is made; its backward runs the forward again on a tape of its own — the same
/// dropout draws, running statistics left as the first run set them — and
/// back-propagates through it. The block's activations then exist only while its
/// backward runs, for one more forward's time.
///
/// Keeping (FSDP's default, a stage-3 unit not asked to recompute): the forward records on
/// a tape of its own, which the backward back-propagates through; only the parameters are
/// given back between the two, so the block runs forward once and holds its activations
/// as an unwrapped layer does.
///
/// Parameters, paths and results are those of the layer itself; gradient-ready events
/// still fire as its backward ends.
public struct RecomputedLayer: Layer {
    public let inner: any Layer
    /// Whether backward runs the forward again (false: it keeps the forward's tape).
    public let replays: Bool
    /// Every parameter of `inner` (worked out once: the recorded node reads them all).
    private let parameters: [ParameterSlot]

    public init(_ inner: any Layer, replays: Bool = true) {
        self.inner = inner
        self.replays = replays
        parameters = inner.allParameters
    }

    public var outputShape: [Int] { inner.outputShape }
    public var children: [(name: String, layer: any Layer)] { inner.children }
    public var ownParameters: [ParameterSlot] { inner.ownParameters }
    public var ownBuffers: [BufferSlot] { inner.ownBuffers }
    public var synchronizesStatistics: Bool { inner.synchronizesStatistics }
    public var marksPadding: Bool { inner.marksPadding }
    public func paddingMask(forModelInput input: Tensor) -> Tensor? { inner.paddingMask(forModelInput: input) }

    /// Under ZeRO stage 3 (`context.parameterResidency`) the layer's parameters are
    /// gathered for the forward and again for the backward (and the forward a replay runs),
    /// and given back after each: between them the rank holds only its rows.
    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let residency = context.parameterResidency
        // Gathered once here: the layers inside read what this one gathered.
        context.parameterResidency = nil
        defer { context.parameterResidency = residency }
        residency?.gather(parameters)
        guard context.isTraining, context.tape.recordsBackward else {
            // Inference: the tape copies the values it reads, so they go back at once.
            defer { residency?.release(parameters) }
            return inner.forward(input, context: &context)
        }
        return replays ? forwardForReplay(input, context: &context, residency: residency)
                       : forwardKeepingTape(input, context: &context, residency: residency)
    }

    /// The forward whose intermediates go back to the pool; backward runs it again.
    private func forwardForReplay(_ input: Variable, context: inout ForwardContext,
                                  residency: (any ParameterResidency)?) -> Variable {
        let tape = context.tape, parameters = parameters, inner = inner
        let before = context
        let start = tape.nodeCount
        tape.recordsBackward = false
        let output = inner.forward(input, context: &context).value
        tape.releaseValues(start..<tape.nodeCount)
        tape.recordsBackward = true
        residency?.release(parameters)
        return tape.recordRecomputed(output, parameters: parameters, backward: { tape, gradient in
            residency?.gather(parameters)
            defer { residency?.release(parameters) }
            let again = Tape(parameters: tape.parameters)
            var replay = ForwardContext(copying: before, tape: again)
            let x = input.requiresGradient ? again.leaf(input.value) : again.constant(input.value)
            let y = inner.forward(x, context: &replay)
            again.backward(from: y, gradient: gradient)
            if let inputGradient = x.gradient { tape.accumulate(inputGradient, into: input) }
        }, unreached: { Self.gatherUnreached(parameters, residency: residency) })
    }

    /// The forward recorded on a tape of its own, kept for backward: only the parameters
    /// are gathered again.
    private func forwardKeepingTape(_ input: Variable, context: inout ForwardContext,
                                    residency: (any ParameterResidency)?) -> Variable {
        let tape = context.tape, parameters = parameters
        let own = Tape(parameters: tape.parameters)
        let x = input.requiresGradient ? own.leaf(input.value) : own.constant(input.value)
        context.tape = own
        let y = inner.forward(x, context: &context)
        context.tape = tape
        residency?.release(parameters)
        return tape.recordRecomputed(y.value, parameters: parameters, backward: { tape, gradient in
            residency?.gather(parameters)
            defer { residency?.release(parameters) }
            own.backward(from: y, gradient: gradient)
            if let inputGradient = x.gradient { tape.accumulate(inputGradient, into: input) }
        }, unreached: { Self.gatherUnreached(parameters, residency: residency) })
    }

    /// A block the loss does not reach has nothing to compute on the way back, but a rank
    /// without samples cannot tell which blocks the loss reaches and gathers every block's
    /// rows: so every rank gathers (and gives back) this one's too.
    private static func gatherUnreached(_ parameters: [ParameterSlot], residency: (any ParameterResidency)?) {
        residency?.gather(parameters)
        residency?.release(parameters)
    }
}

extension ForwardContext {
    /// `context` on `tape`, for a forward run again: the same dropout stream, keyed noise and padding,
    /// running statistics left alone.
    init(copying context: ForwardContext, tape: Tape) {
        self.init(tape: tape, isTraining: context.isTraining, generator: context.generator,
                  sumAcrossDataGroup: context.sumAcrossDataGroup)
        sequencePadding = context.sequencePadding
        sampleNoise = context.sampleNoise
        updatesRunningStatistics = false
    }
}
