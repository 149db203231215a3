import FlockTensor

/// What a layer needs while it runs forward on one rank.
public struct ForwardContext {
    public internal(set) var tape: Tape
    /// Training mode: dropout active, normalization layers update their running
    /// statistics. Inference: dropout is the identity, statistics are read only.
    public var isTraining: Bool
    /// Draws dropout masks; owned by the rank, advanced step by step.
    public var generator: RandomGenerator
    /// Sums a vector over the data-parallel group in place (nil on one rank): what
    /// synchronized batch normalization uses to normalize with global-batch statistics.
    /// Every rank of the group must call it the same number of times, in the same order.
    public var sumAcrossDataGroup: ((inout [Double]) -> Void)?
    /// (B, T): 1 where a sequence position is padding, set by an `Embedding` with a
    /// `padding_id`; attention hides those keys and mean pooling skips them.
    public var sequencePadding: Tensor?
    /// False while a block runs its forward again for backward (recomputation): training
    /// mode, but normalization layers leave their running statistics as the first run set them.
    public var updatesRunningStatistics = true
    /// Under ZeRO stage 3: gathers a layer's parameters before a recomputed layer reads
    /// them and gives them back after (nil: every parameter is always resident).
    public var parameterResidency: (any ParameterResidency)?
    /// Loss terms layers add themselves (a sampling layer's KL term), each a scalar
    /// already weighted; the step adds them to the objective.
    public var addedLosses: [Variable] = []
    /// Noise keyed by (seed, step, sample) for the batch's rows, so that any number of
    /// ranks draws what one rank draws; nil outside a trainer's step.
    public var sampleNoise: SampleNoise?
    /// (B) the batch's class labels, for a graph input `from: labels` (a conditional
    /// GAN's condition); nil where no labels are known.
    public var labels: Tensor?
    /// What the layers of a graph node with a second input attend to (a
    /// `transformer_decoder`'s cross-attention): that input's value and padding; nil elsewhere.
    public var memory: AttentionMemory?

    public init(tape: Tape, isTraining: Bool, generator: RandomGenerator,
                sumAcrossDataGroup: ((inout [Double]) -> Void)? = nil) {
        self.tape = tape
        self.isTraining = isTraining
        self.generator = generator
        self.sumAcrossDataGroup = sumAcrossDataGroup
    }
}

/// A module of a model: a layer, or a container of layers (`Sequential`, `Residual`).
///
/// A layer is built once its input shape is known (by a `LayerSpec`); building registers
/// its parameters and buffers in the model's `ParameterStore` under its path, so a
/// layer holds only slots (views into the store) and runs through the tape. Parameter
/// paths follow the nesting: `layers.3.block.0.weight`.
public protocol Layer {
    /// Per-sample output shape (batch dimension excluded).
    var outputShape: [Int] { get }
    /// Direct sub-layers, each with its path component (`"0"`, `"block"`).
    var children: [(name: String, layer: any Layer)] { get }
    /// This layer's own trainable parameters (not its children's).
    var ownParameters: [ParameterSlot] { get }
    /// This layer's own non-trainable buffers, e.g. running statistics.
    var ownBuffers: [BufferSlot] { get }
    /// Runs the layer on a batch: `input` has shape (B, inputShape…).
    func forward(_ input: Variable, context: inout ForwardContext) -> Variable
    /// Whether the layer sums statistics across the data group (synchronized batch
    /// normalization); such a layer needs every data-parallel rank in each forward.
    var synchronizesStatistics: Bool { get }
    /// Whether the layer marks a padding mask for the layers after it (an embedding with a
    /// `padding_id`).
    var marksPadding: Bool { get }
    /// Whether the layer (or one inside it) adds loss terms to `ForwardContext.addedLosses`
    /// (a sampling layer's KL term): such a layer cannot be recomputed.
    var addsLosses: Bool { get }
    /// Whether the layer (or one inside it) attends to `ForwardContext.memory` (a
    /// `transformer_decoder`): such a layer cannot be recomputed.
    var readsMemory: Bool { get }
    /// The (B, T) padding mask (1 at padding) this layer marks, from the batch's model
    /// input; nil when it marks none. Pipeline stages after this layer's compute it from
    /// the same batch, since the mask does not travel with activations.
    func paddingMask(forModelInput input: Tensor) -> Tensor?
}

extension Layer {
    public var children: [(name: String, layer: any Layer)] { [] }
    public var ownParameters: [ParameterSlot] { [] }
    public var ownBuffers: [BufferSlot] { [] }
    public var synchronizesStatistics: Bool { false }
    public var marksPadding: Bool { false }
    public var addsLosses: Bool { children.contains { $0.layer.addsLosses } }
    public var readsMemory: Bool { children.contains { $0.layer.readsMemory } }
    public func paddingMask(forModelInput input: Tensor) -> Tensor? { nil }

    /// Every parameter of this layer and its descendants, in registration order.
    public var allParameters: [ParameterSlot] {
        (ownParameters + children.flatMap { $0.layer.allParameters }).sorted { $0.index < $1.index }
    }

    /// Every buffer of this layer and its descendants, in registration order.
    public var allBuffers: [BufferSlot] {
        (ownBuffers + children.flatMap { $0.layer.allBuffers }).sorted { $0.index < $1.index }
    }
}
