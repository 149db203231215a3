import FlockTensor

/// A layer trained with activation recomputation (Chen et al., "Training deep nets with
/// sublinear memory cost", 2016; PyTorch's `checkpoint`): its training forward keeps only
/// its input and output, giving each intermediate back to the tape's pool as soon as the
/// next is made; its backward runs the forward again on a tape of its own — the same
/// dropout draws, running statistics left as the first run set them — and
/// back-propagates through it. The block's activations then exist only while its
/// backward runs, for one more forward's time. Parameters, paths and results are those
/// of the layer itself; gradient-ready events still fire as its backward ends.
public struct RecomputedLayer: Layer {
    public let inner: any Layer
    /// Every parameter of `inner` (worked out once: the recorded node reads them all).
    private let parameters: [ParameterSlot]

    public init(_ inner: any Layer) {
        self.inner = inner
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
    /// gathered for the forward and again for the forward backward runs, and given back
    /// after each: between them the rank holds only its rows.
    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let residency = context.parameterResidency, parameters = parameters
        // Gathered once here: the layers inside read what this one gathered.
        context.parameterResidency = nil
        defer { context.parameterResidency = residency }
        residency?.gather(parameters)
        guard context.isTraining, tape.recordsBackward else {
            // Inference: the tape copies the values it reads, so they go back at once.
            defer { residency?.release(parameters) }
            return inner.forward(input, context: &context)
        }
        let before = context
        let start = tape.nodeCount
        tape.recordsBackward = false
        let output = inner.forward(input, context: &context).value
        tape.releaseValues(start..<tape.nodeCount)
        tape.recordsBackward = true
        residency?.release(parameters)
        let inner = inner
        return tape.recordRecomputed(output, parameters: parameters, backward: { tape, gradient in
            residency?.gather(parameters)
            defer { residency?.release(parameters) }
            let again = Tape(parameters: tape.parameters)
            var replay = ForwardContext(copying: before, tape: again)
            let x = input.requiresGradient ? again.leaf(input.value) : again.constant(input.value)
            let y = inner.forward(x, context: &replay)
            again.backward(from: y, gradient: gradient)
            if let inputGradient = x.gradient { tape.accumulate(inputGradient, into: input) }
        }, unreached: {
            // Nothing to compute, but a rank without samples cannot tell which blocks the
            // loss reaches and gathers every block's rows on the way back: so do we.
            residency?.gather(parameters)
            residency?.release(parameters)
        })
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
