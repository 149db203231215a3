/// A value recorded on a `Tape`. Cheap to copy: an index into the tape.
public struct Variable {
    public let id: Int
    public unowned let tape: Tape

    /// The forward value.
    public var value: Tensor { tape.values[id] }
    public var shape: [Int] { tape.values[id].shape }
    /// Whether backward computes a gradient for this value.
    public var requiresGradient: Bool { tape.requiresGradient[id] }
    /// The gradient after `Tape.backward`, or `nil` if nothing reached it.
    public var gradient: Tensor? { tape.gradients[id] }
}

/// When backward computes parameter (weight) gradients.
public enum WeightGradientTiming: Sendable {
    /// At each node, together with its input gradients.
    case immediate
    /// Later, when `backwardWeights()` is called: backward only propagates input
    /// gradients (a pipeline schedule sends them upstream first and fills its bubbles with
    /// the weight work, as zero-bubble schedules do).
    case deferred
}

/// Reverse-mode automatic differentiation for one rank.
///
/// Forward ops append a value and, when any input needs a gradient, a closure that maps
/// the output's gradient onto its inputs (the chain rule). `backward(from:)` runs those
/// closures newest first. Gradients of parameters go straight into the
/// `ParameterStore`'s flat gradient buffer (accumulated, so several micro-batches add
/// up), and the moment a parameter's gradient is final for this tape, the tape tells
/// every gradient-ready observer with its slot: data parallelism starts a bucket's
/// allreduce there while backward goes on.
///
/// Ops that touch parameters record their backward in two parts, input gradients and
/// weight gradients, so backward can run the weight part later
/// (`WeightGradientTiming.deferred`). Several tapes may record on one store at once (one
/// per micro-batch in flight); their parameter gradients add up in the store.
///
/// A tape is reset after each step (`reset()`), keeping its storage.
public final class Tape {
    public let parameters: ParameterStore

    var values: [Tensor] = []
    var gradients: [Tensor?] = []
    var requiresGradient: [Bool] = []
    var backwardSteps: [((Tape) -> Void)?] = []
    /// The weight-gradient part of a node's backward, given the node's output gradient.
    private var weightSteps: [Int: (Tape, Tensor) -> Void] = [:]
    /// What a node does when backward passes it without a gradient (a recomputed block the
    /// loss does not reach: its ZeRO stage-3 gathers still take their turn).
    private var unreachedSteps: [Int: () -> Void] = [:]
    /// Weight work a deferred backward left for `backwardWeights()`, newest node first.
    private var deferredWeightWork: [(node: Int, gradient: Tensor)] = []
    /// For each node, the parameter slots whose last backward contribution it makes.
    private var parametersFinishedAt: [Int: [ParameterSlot]] = [:]
    private var usedParameters: Set<Int> = []
    private var gradientReadyObservers: [(ParameterSlot) -> Void] = []
    private var storagePool = TensorStoragePool()
    /// Whether ops record their backward. Off for inference: ops keep only their values,
    /// and `releaseValues` may hand values no later op reads back to the storage pool, so a
    /// forward pass holds about one layer's activations at a time.
    public var recordsBackward = true

    public init(parameters: ParameterStore) {
        self.parameters = parameters
    }

    /// Forgets every recorded node (observers stay).
    public func reset() {
        // Closures first: they hold the values too, and a recycled array should be free.
        backwardSteps.removeAll(keepingCapacity: true)
        weightSteps.removeAll(keepingCapacity: true)
        unreachedSteps.removeAll(keepingCapacity: true)
        deferredWeightWork.removeAll(keepingCapacity: true)
        for value in values { storagePool.recycle(value) }
        for case let gradient? in gradients { storagePool.recycle(gradient) }
        values.removeAll(keepingCapacity: true)
        gradients.removeAll(keepingCapacity: true)
        requiresGradient.removeAll(keepingCapacity: true)
        parametersFinishedAt.removeAll(keepingCapacity: true)
        usedParameters.removeAll(keepingCapacity: true)
    }

    /// A tensor of `shape` whose every element `fill` must write, in storage a previous
    /// step of this tape released when one of that size is free (ops on the hot path use
    /// it for their outputs and gradients).
    public func makeTensor(shape: [Int], uninitializedFill fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        storagePool.makeTensor(shape: shape, fill: fill)
    }

    /// Hands an op's scratch tensor, which nothing reads any more, back to the storage pool.
    func recycle(_ tensor: Tensor) {
        storagePool.recycle(tensor)
    }

    /// Adds an observer called during backward once a parameter's gradient is complete,
    /// in the order backward finishes them. Observers are called in the order added.
    public func addGradientReadyObserver(_ observer: @escaping (ParameterSlot) -> Void) {
        gradientReadyObservers.append(observer)
    }

    // MARK: Recording

    /// A value that needs no gradient (inputs, labels).
    public func constant(_ tensor: Tensor) -> Variable {
        append(tensor, requiresGradient: false, backward: nil)
    }

    /// A leaf whose gradient backward computes (for gradient checks and inputs of interest).
    public func leaf(_ tensor: Tensor) -> Variable {
        append(tensor, requiresGradient: true, backward: nil)
    }

    /// A parameter read into the graph as a copy; its gradient is accumulated into the
    /// store (weight work). Large parameters go through fused ops (`linear`) that read the
    /// store in place.
    public func parameter(_ slot: ParameterSlot) -> Variable {
        guard recordsBackward else { return append(parameters.value(of: slot), requiresGradient: false, backward: nil) }
        let node = append(parameters.value(of: slot), requiresGradient: true, backward: nil)
        weightSteps[node.id] = { tape, gradient in
            tape.accumulateParameterGradient(slot) { target in
                gradient.scalars.withUnsafeBufferPointer { source in
                    for i in 0..<target.count { target[i] += source[i] }
                }
            }
        }
        noteUse(of: slot, atNode: node.id)
        return node
    }

    /// Records an op's output. `backward` is kept only when some input needs a gradient.
    @discardableResult
    public func record(_ output: Tensor, inputs: [Variable], backward: @escaping (Tape, Tensor) -> Void) -> Variable {
        let needsGradient = recordsBackward && inputs.contains { requiresGradient[$0.id] }
        guard needsGradient else { return append(output, requiresGradient: false, backward: nil) }
        return append(output, requiresGradient: true, backward: backward)
    }

    /// Records an op that reads parameters: `inputBackward` maps the output's gradient onto
    /// the op's inputs, `weightBackward` adds the parameters' gradients to the store.
    /// Call `noteUse(of:atNode:)` for each parameter read.
    public func recordWithWeights(_ output: Tensor, inputBackward: @escaping (Tape, Tensor) -> Void,
                                  weightBackward: @escaping (Tape, Tensor) -> Void) -> Variable {
        guard recordsBackward else { return append(output, requiresGradient: false, backward: nil) }
        let node = append(output, requiresGradient: true, backward: inputBackward)
        weightSteps[node.id] = weightBackward
        return node
    }

    /// Records a block whose backward runs it again (activation recomputation): the node
    /// needs a gradient whatever its inputs, and counts as reading `parameters`, so their
    /// gradient-ready events fire once `backward` (which adds their gradients to the store)
    /// has run.
    /// `unreached` runs instead of `backward` when backward passes the node without a
    /// gradient (the loss does not read the block's output).
    public func recordRecomputed(_ output: Tensor, parameters: [ParameterSlot],
                                 backward: @escaping (Tape, Tensor) -> Void, unreached: @escaping () -> Void) -> Variable {
        guard recordsBackward else { return append(output, requiresGradient: false, backward: nil) }
        let node = append(output, requiresGradient: true, backward: backward)
        unreachedSteps[node.id] = unreached
        for slot in parameters { noteUse(of: slot, atNode: node.id) }
        return node
    }

    /// Tells the tape that node `node` reads `slot`.
    /// The earliest node that reads a parameter is the last to send it a gradient.
    public func noteUse(of slot: ParameterSlot, atNode node: Int) {
        guard recordsBackward else { return }
        if usedParameters.insert(slot.index).inserted {
            parametersFinishedAt[node, default: []].append(slot)
        }
    }

    /// Nodes recorded so far: the id the next one gets.
    public var nodeCount: Int { values.count }

    /// Elements of the values this tape holds now (activations and their copies): what a
    /// forward pass keeps alive, in Floats.
    public var heldValueElements: Int { values.reduce(0) { $0 + $1.scalars.count } }

    /// Gives the values of `nodes` back to the storage pool (inference only: no backward
    /// will read them); reading one afterwards finds an empty tensor.
    public func releaseValues(_ nodes: Range<Int>) {
        precondition(!recordsBackward, "values are released only by a tape that records no backward")
        for id in nodes.clamped(to: 0..<values.count) where !values[id].scalars.isEmpty {
            storagePool.recycle(values[id])
            values[id] = Tensor(shape: [0], scalars: [])
        }
    }

    /// Appends a node whose backward receives the node's gradient.
    func append(_ tensor: Tensor, requiresGradient needsGradient: Bool,
                backward: @escaping (Tape, Tensor) -> Void) -> Variable {
        let id = values.count
        return append(tensor, requiresGradient: needsGradient) { tape in
            guard let gradient = tape.gradients[id] else { return }
            backward(tape, gradient)
        }
    }

    private func append(_ tensor: Tensor, requiresGradient needsGradient: Bool,
                        backward: ((Tape) -> Void)?) -> Variable {
        values.append(tensor)
        gradients.append(nil)
        requiresGradient.append(needsGradient)
        backwardSteps.append(backward)
        return Variable(id: values.count - 1, tape: self)
    }

    // MARK: Gradients

    /// Adds `gradient` to the gradient of `variable` (if it needs one).
    public func accumulate(_ gradient: Tensor, into variable: Variable) {
        let id = variable.id
        guard requiresGradient[id] else { return }
        precondition(gradient.shape == values[id].shape,
                     "gradient of shape \(gradient.shape) for a value of shape \(values[id].shape)")
        if var existing = gradients[id] {
            gradients[id] = nil
            existing.scalars.withUnsafeMutableBufferPointer { target in
                gradient.scalars.withUnsafeBufferPointer { source in
                    for i in 0..<target.count { target[i] += source[i] }
                }
            }
            gradients[id] = existing
        } else {
            gradients[id] = gradient
        }
    }

    /// Lets an op add to a parameter's slice of the flat gradient buffer in place (not
    /// called for a slot the store skips: its weight-gradient work is not done).
    public func accumulateParameterGradient(_ slot: ParameterSlot, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        guard !parameters.gradientSkippedSlots.contains(slot.index) else { return }
        parameters.withGradient(slot, body)
    }

    /// Back-propagates from a scalar `loss` (seeded with `seed`, default 1).
    /// Parameter gradients are added to the store's gradient buffer, now or, with
    /// `weightGradients: .deferred`, when `backwardWeights()` runs.
    public func backward(from loss: Variable, seed: Float = 1, weightGradients: WeightGradientTiming = .immediate) {
        precondition(loss.value.count == 1, "backward from a non-scalar of shape \(loss.shape)")
        backward(from: loss, gradient: Tensor(shape: loss.shape, scalars: [seed]), weightGradients: weightGradients)
    }

    /// Back-propagates `gradient` (the loss's derivative w.r.t. `output`).
    public func backward(from output: Variable, gradient: Tensor, weightGradients: WeightGradientTiming = .immediate) {
        accumulate(gradient, into: output)
        for id in stride(from: output.id, through: 0, by: -1) {
            let gradient = gradients[id]
            if let step = backwardSteps[id], gradient != nil {
                step(self)
            } else if gradient == nil, let unreached = unreachedSteps[id] {
                unreached()
            }
            if let gradient, let weightStep = weightSteps[id] {
                switch weightGradients {
                case .immediate: weightStep(self, gradient)
                case .deferred: deferredWeightWork.append((id, gradient))
                }
            }
            if id != output.id, let used = gradients[id], !(requiresGradient[id] && backwardSteps[id] == nil && weightSteps[id] == nil) {
                gradients[id] = nil
                storagePool.recycle(used)
            }
            if weightGradients == .immediate { announceFinishedParameters(at: id) }
        }
    }

    /// Runs the weight-gradient work a `.deferred` backward left, newest node first, and
    /// announces each parameter's gradient as it completes.
    public func backwardWeights() {
        guard !deferredWeightWork.isEmpty else { return }
        // Newest node first, whichever backward left the work.
        let work = deferredWeightWork.sorted { $0.node > $1.node }
        deferredWeightWork.removeAll(keepingCapacity: true)
        var next = work.startIndex
        for id in stride(from: values.count - 1, through: 0, by: -1) {
            while next < work.endIndex && work[next].node == id {
                weightSteps[id]?(self, work[next].gradient)
                next += 1
            }
            announceFinishedParameters(at: id)
        }
    }

    /// Bytes of the values recorded since the last reset (what holding this tape's
    /// activations costs).
    public var recordedBytes: Int { values.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride }

    /// Whether a deferred backward left weight work to do.
    public var hasDeferredWeightWork: Bool { !deferredWeightWork.isEmpty }

    private func announceFinishedParameters(at node: Int) {
        guard let finished = parametersFinishedAt[node], !gradientReadyObservers.isEmpty else { return }
        for slot in finished {
            for observer in gradientReadyObservers { observer(slot) }
        }
    }
}
