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

/// Reverse-mode automatic differentiation for one rank.
///
/// Forward ops append a value and, when any input needs a gradient, a closure that maps
/// the output's gradient onto its inputs (the chain rule). `backward(from:)` runs those
/// closures newest first. Gradients of parameters go straight into the
/// `ParameterStore`'s flat gradient buffer (accumulated, so several micro-batches add
/// up), and the moment a parameter's gradient is final the tape calls
/// `onGradientReady` with its slot: data parallelism starts a bucket's allreduce there
/// while backward goes on.
///
/// A tape is reset after each step (`reset()`), keeping its storage.
public final class Tape {
    public let parameters: ParameterStore
    /// Called during `backward` once a parameter's gradient is complete, in the order
    /// backward finishes them.
    public var onGradientReady: ((ParameterSlot) -> Void)?

    var values: [Tensor] = []
    var gradients: [Tensor?] = []
    var requiresGradient: [Bool] = []
    var backwardSteps: [((Tape) -> Void)?] = []
    /// For each node, the parameter slots whose last backward contribution it makes.
    private var parametersFinishedAt: [Int: [ParameterSlot]] = [:]
    private var usedParameters: Set<Int> = []

    public init(parameters: ParameterStore) {
        self.parameters = parameters
    }

    /// Forgets every recorded node.
    public func reset() {
        values.removeAll(keepingCapacity: true)
        gradients.removeAll(keepingCapacity: true)
        requiresGradient.removeAll(keepingCapacity: true)
        backwardSteps.removeAll(keepingCapacity: true)
        parametersFinishedAt.removeAll(keepingCapacity: true)
        usedParameters.removeAll(keepingCapacity: true)
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
    /// store. Large parameters go through fused ops (`linear`) that read the store in place.
    public func parameter(_ slot: ParameterSlot) -> Variable {
        let node = append(parameters.value(of: slot), requiresGradient: true, backward: nil)
        let id = node.id
        backwardSteps[id] = { tape in
            guard let gradient = tape.gradients[id] else { return }
            tape.accumulateParameterGradient(slot) { target in
                gradient.scalars.withUnsafeBufferPointer { source in
                    for i in 0..<target.count { target[i] += source[i] }
                }
            }
        }
        noteUse(of: slot, atNode: id)
        return node
    }

    /// Records an op's output. `backward` is kept only when some input needs a gradient.
    @discardableResult
    public func record(_ output: Tensor, inputs: [Variable], backward: @escaping (Tape, Tensor) -> Void) -> Variable {
        let needsGradient = inputs.contains { requiresGradient[$0.id] }
        guard needsGradient else { return append(output, requiresGradient: false, backward: nil) }
        return append(output, requiresGradient: true, backward: backward)
    }

    /// Tells the tape that node `node` reads `slot`.
    /// The earliest node that reads a parameter is the last to send it a gradient.
    public func noteUse(of slot: ParameterSlot, atNode node: Int) {
        if usedParameters.insert(slot.index).inserted {
            parametersFinishedAt[node, default: []].append(slot)
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

    /// Lets an op add to a parameter's slice of the flat gradient buffer in place.
    public func accumulateParameterGradient(_ slot: ParameterSlot, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        parameters.withGradient(slot, body)
    }

    /// Back-propagates from a scalar `loss` (seeded with `seed`, default 1).
    /// Parameter gradients are added to the store's gradient buffer.
    public func backward(from loss: Variable, seed: Float = 1) {
        precondition(loss.value.count == 1, "backward from a non-scalar of shape \(loss.shape)")
        backward(from: loss, gradient: Tensor(shape: loss.shape, scalars: [seed]))
    }

    /// Back-propagates `gradient` (the loss's derivative w.r.t. `output`).
    public func backward(from output: Variable, gradient: Tensor) {
        accumulate(gradient, into: output)
        for id in stride(from: output.id, through: 0, by: -1) {
            if let step = backwardSteps[id], gradients[id] != nil {
                step(self)
            }
            if id != output.id { gradients[id] = requiresGradient[id] && backwardSteps[id] == nil ? gradients[id] : nil }
            if let finished = parametersFinishedAt[id], let onGradientReady {
                for slot in finished { onGradientReady(slot) }
            }
        }
    }
}
