/// One named parameter: a view (offset, shape) into the store's flat buffers.
public struct ParameterSlot: Sendable, Hashable {
    /// Position in `ParameterStore.slots`, in registration order.
    public let index: Int
    /// Layer path, e.g. `layers.0.weight`.
    public let name: String
    /// First element in the flat buffers.
    public let offset: Int
    public let shape: [Int]
    /// Whether weight penalties (L1/L2) and decoupled weight decay apply (weights yes, biases no).
    public let isDecayed: Bool

    public var count: Int { Tensor.elementCount(of: shape) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// One named non-trainable buffer (e.g. BatchNorm's running mean): a view into the store's
/// flat buffer memory. Saved in checkpoints and broadcast at start-up like weights, but
/// never touched by optimizers, penalties or the gradient allreduce.
public struct BufferSlot: Sendable, Hashable {
    /// Position in `ParameterStore.bufferSlots`, in registration order.
    public let index: Int
    /// Layer path, e.g. `layers.2.running_mean`.
    public let name: String
    public let offset: Int
    public let shape: [Int]

    public var count: Int { Tensor.elementCount(of: shape) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// All of a model's parameters in one contiguous `Float` buffer and all their gradients
/// in another of the same layout.
///
/// Optimizers run one loop over the whole buffer, allreduce and checkpoints work on
/// contiguous ranges with no copies, and the tape accumulates gradients straight into
/// `gradients` during backward. A store belongs to one rank and is not shared between
/// threads.
public final class ParameterStore {
    public private(set) var slots: [ParameterSlot] = []
    public private(set) var bufferSlots: [BufferSlot] = []
    /// The first `count` elements of allocations of `capacity` (grown geometrically while a
    /// model registers its parameters; `compact()` trims them).
    private var values: UnsafeMutableBufferPointer<Float>
    private var gradientValues: UnsafeMutableBufferPointer<Float>
    private var capacity = 0
    /// Indices of the slots whose gradients backward does not compute (frozen parameters,
    /// or those outside the current step phase's group): their weight-gradient work is
    /// skipped and their gradients stay as they are.
    public var gradientSkippedSlots: Set<Int> = []
    /// How the tapes recording on this store multiply matrices (Dense/`linear`,
    /// attention): Float32 `sgemm` unless mixed precision chose bf16. The values and
    /// gradients here stay Float32 either way.
    public var matrixProducts: MatrixProducts = .float32
    /// How those tapes run Conv2D per shape (nil: im2col with `matrixProducts` throughout).
    public var convolutions: ConvolutionKernels?
    /// Parameter and buffer names → their index in `slots` / `bufferSlots`.
    private var parameterIndex: [String: Int] = [:]
    private var bufferNames: Set<String> = []
    /// Non-trainable state, in `bufferSlots` order.
    private var bufferValues: [Float] = []
    /// False once the gradients live in memory someone else owns (a communicator's).
    private var ownsGradientMemory = true
    /// Set by `releaseStorage()`: the counts the freed buffers had.
    private var released: (parameters: Int, buffers: Int)?

    /// False for a store that only describes its parameters and buffers (names, shapes,
    /// offsets, counts) and holds no values: a model's description, as PyTorch's meta
    /// device, from which a rank builds only the slices it owns (or to which it attaches
    /// storage, ZeRO stage 3).
    public private(set) var holdsValues: Bool
    /// False once the values live in memory someone else owns (`attachStorage`).
    private var ownsValueMemory = true

    public init(holdsValues: Bool = true) {
        values = .allocate(capacity: 0)
        gradientValues = .allocate(capacity: 0)
        self.holdsValues = holdsValues
        if !holdsValues { released = (0, 0) }
    }

    deinit {
        if ownsValueMemory { values.deallocate() }
        if ownsGradientMemory { gradientValues.deallocate() }
    }

    /// Gives a description store its storage: values and gradients in memory someone else
    /// owns (`count` elements each, as they are: zero where nothing was written yet), that
    /// outlives the store; buffers at their initial values. ZeRO stage 3 puts both in pages
    /// it hands back to the kernel, so a rank holds the values of its own rows and of the
    /// layer it runs.
    public func attachStorage(values memory: UnsafeMutableBufferPointer<Float>, gradients: UnsafeMutableBufferPointer<Float>) {
        precondition(!holdsValues && released != nil, "storage is attached to a model description only")
        precondition(memory.count == count && gradients.count == count, "storage of \(memory.count) and \(gradients.count) elements for \(count) parameters")
        values.deallocate()
        gradientValues.deallocate()
        values = memory
        gradientValues = gradients
        (ownsValueMemory, ownsGradientMemory) = (false, false)
        capacity = memory.count
        released = nil
        holdsValues = true
    }

    /// Moves the gradients into `memory` (e.g. a communicator's shared window, so that an
    /// allreduce reads peers' gradients in place). `memory` must hold `count` elements and
    /// outlive the store; no parameter may be registered afterwards.
    public func useGradientMemory(_ memory: UnsafeMutableBufferPointer<Float>) {
        precondition(memory.count == count, "gradient memory of \(memory.count) elements for \(count) parameters")
        _ = memory.update(fromContentsOf: gradientValues)
        if ownsGradientMemory { gradientValues.deallocate() }
        gradientValues = memory
        ownsGradientMemory = false
    }

    /// Total number of scalars over all parameters.
    public var count: Int { released?.parameters ?? values.count }

    /// Frees the values, gradients and buffers, keeping the slots (names, shapes, offsets),
    /// `count` and `stateLayout`: the whole model's description on a rank that trains only
    /// a shard of it. Reading values afterwards is a programmer error.
    public func releaseStorage() {
        guard released == nil else { return }
        precondition(ownsValueMemory, "a store with attached storage keeps it")
        released = (values.count, bufferValues.count)
        values.deallocate()
        values = .allocate(capacity: 0)
        if ownsGradientMemory { gradientValues.deallocate() }
        gradientValues = .allocate(capacity: 0)
        capacity = 0
        ownsGradientMemory = true
        bufferValues = []
    }

    /// Adds a parameter initialised to zero; its gradient starts at zero. The buffers grow
    /// geometrically, so registering n parameters copies O(n) values in all.
    @discardableResult
    public func register(name: String, shape: [Int], isDecayed: Bool) -> ParameterSlot {
        precondition(parameterIndex[name] == nil, "parameter \(name) registered twice")
        precondition(ownsGradientMemory, "parameters registered after the gradients moved to external memory")
        if !holdsValues, let counts = released {
            let slot = ParameterSlot(index: slots.count, name: name, offset: counts.parameters, shape: shape, isDecayed: isDecayed)
            released = (counts.parameters + slot.count, counts.buffers)
            slots.append(slot)
            parameterIndex[name] = slot.index
            return slot
        }
        precondition(released == nil, "parameter \(name) registered after the store released its storage")
        let slot = ParameterSlot(index: slots.count, name: name, offset: values.count,
                                 shape: shape, isDecayed: isDecayed)
        let needed = values.count + slot.count
        if needed > capacity { reallocate(capacity: Swift.max(needed, 2 * capacity)) }
        values = Self.extend(values, to: needed)
        gradientValues = Self.extend(gradientValues, to: needed)
        slots.append(slot)
        parameterIndex[name] = slot.index
        return slot
    }

    /// Trims the buffers to the parameters registered (a built model calls it).
    public func compact() {
        guard ownsGradientMemory, released == nil, capacity > values.count else { return }
        reallocate(capacity: values.count)
    }

    /// Adds a non-trainable buffer holding `initialValue` (one value per element).
    @discardableResult
    public func registerBuffer(name: String, shape: [Int], initialValue: Float) -> BufferSlot {
        precondition(parameterIndex[name] == nil && !bufferNames.contains(name), "buffer \(name) registered twice")
        let slot = BufferSlot(index: bufferSlots.count, name: name, offset: released?.buffers ?? bufferValues.count, shape: shape)
        if !holdsValues, let counts = released {
            released = (counts.parameters, counts.buffers + slot.count)
        }
        // A description keeps its buffers' initial values too (they are small), for the
        // storage attached to it later.
        bufferValues += [Float](repeating: initialValue, count: slot.count)
        bufferSlots.append(slot)
        bufferNames.insert(name)
        return slot
    }

    public func slot(named name: String) -> ParameterSlot? {
        parameterIndex[name].map { slots[$0] }
    }

    // MARK: Access

    /// The whole parameter buffer.
    @inlinable
    public func withParameters<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(parameterBuffer)
    }

    /// The whole gradient buffer.
    @inlinable
    public func withGradients<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(gradientBuffer)
    }

    /// One parameter's values.
    @inlinable
    public func withParameter<R>(_ slot: ParameterSlot, _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(rebasing: parameterBuffer[slot.range]))
    }

    /// `withParameter` for a slot that may be absent (a layer without bias): nil then.
    public func withOptionalParameter<R>(_ slot: ParameterSlot?, _ body: (UnsafeMutableBufferPointer<Float>?) throws -> R) rethrows -> R {
        guard let slot else { return try body(nil) }
        return try withParameter(slot) { try body($0) }
    }

    /// One parameter's gradient.
    @inlinable
    public func withGradient<R>(_ slot: ParameterSlot, _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(rebasing: gradientBuffer[slot.range]))
    }

    /// Every buffer's values, in `bufferSlots` order.
    public func withBuffers<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try bufferValues.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// One buffer's values.
    public func withBuffer<R>(_ slot: BufferSlot, _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try bufferValues.withUnsafeMutableBufferPointer { try body(UnsafeMutableBufferPointer(rebasing: $0[slot.range])) }
    }

    /// A copy of one buffer as a tensor.
    public func value(of slot: BufferSlot) -> Tensor {
        Tensor(shape: slot.shape, scalars: Array(bufferValues[slot.range]))
    }

    @usableFromInline var parameterBuffer: UnsafeMutableBufferPointer<Float> { values }
    @usableFromInline var gradientBuffer: UnsafeMutableBufferPointer<Float> { gradientValues }

    /// A copy of one parameter as a tensor.
    public func value(of slot: ParameterSlot) -> Tensor {
        Tensor(shape: slot.shape, scalars: Array(values[slot.range]))
    }

    /// A copy of one parameter's gradient as a tensor.
    public func gradient(of slot: ParameterSlot) -> Tensor {
        Tensor(shape: slot.shape, scalars: Array(gradientValues[slot.range]))
    }

    public func setValue(_ tensor: Tensor, of slot: ParameterSlot) {
        precondition(tensor.shape == slot.shape, "\(slot.name) has shape \(slot.shape), got \(tensor.shape)")
        tensor.scalars.withUnsafeBufferPointer { source in
            _ = UnsafeMutableBufferPointer(rebasing: values[slot.range]).update(fromContentsOf: source)
        }
    }

    /// A copy of every parameter, in buffer order.
    public func snapshotParameters() -> [Float] { Array(values) }

    public func restoreParameters(_ scalars: [Float]) {
        precondition(scalars.count == values.count, "restoring \(scalars.count) scalars into a store of \(values.count)")
        _ = values.update(fromContentsOf: scalars)
    }

    // MARK: Model state (parameters, then buffers)

    /// Names and shapes of everything a checkpoint of the model holds: parameters in slot
    /// order, then buffers.
    public var stateLayout: [(name: String, shape: [Int])] {
        slots.map { ($0.name, $0.shape) } + bufferSlots.map { ($0.name, $0.shape) }
    }

    /// Scalars in `stateLayout`.
    public var stateCount: Int { count + (released?.buffers ?? bufferValues.count) }

    /// Parameters then buffers, as one array in `stateLayout` order.
    public func snapshotState() -> [Float] { Array(values) + bufferValues }

    public func restoreState(_ scalars: [Float]) {
        precondition(scalars.count == stateCount, "restoring \(scalars.count) scalars into a model state of \(stateCount)")
        _ = values.update(fromContentsOf: scalars[..<values.count])
        bufferValues = Array(scalars[values.count...])
    }

    public func zeroGradients() {
        gradientValues.update(repeating: 0)
    }

    /// Moves values and gradients into allocations of `capacity` (≥ count) elements.
    private func reallocate(capacity: Int) {
        func moved(_ buffer: UnsafeMutableBufferPointer<Float>) -> UnsafeMutableBufferPointer<Float> {
            let grown = UnsafeMutableBufferPointer<Float>.allocate(capacity: capacity)
            _ = grown.initialize(fromContentsOf: buffer)
            buffer.deallocate()
            return UnsafeMutableBufferPointer(rebasing: grown[..<buffer.count])
        }
        values = moved(values)
        gradientValues = moved(gradientValues)
        self.capacity = capacity
    }

    /// `buffer` (a prefix of a large enough allocation) lengthened to `count`, the new
    /// elements zero.
    private static func extend(_ buffer: UnsafeMutableBufferPointer<Float>, to count: Int) -> UnsafeMutableBufferPointer<Float> {
        let extended = UnsafeMutableBufferPointer(start: buffer.baseAddress, count: count)
        UnsafeMutableBufferPointer(rebasing: extended[buffer.count...]).initialize(repeating: 0)
        return extended
    }
}
