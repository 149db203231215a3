import FlockTensor

/// Batch normalization (Ioffe & Szegedy 2015) over channel axis 1 of (C, …) per-sample
/// inputs: in training, each channel is normalized with the mean and (biased) variance
/// over the batch and the spatial positions, and the running statistics move toward them
/// by `momentum` (PyTorch's convention, unbiased variance); at inference the running
/// statistics are used. With `synchronized: true` and several data-parallel ranks, the
/// statistics are those of the global batch, so N ranks compute what one rank does on
/// all of it.
///
/// Parameters: `<path>.weight` (γ, C, ones), `<path>.bias` (β, C, zeros); buffers
/// `<path>.running_mean` (zeros), `<path>.running_var` (ones) — PyTorch's names.
public struct BatchNorm: Layer {
    public let scale: ParameterSlot
    public let shift: ParameterSlot
    public let runningMean: BufferSlot
    public let runningVariance: BufferSlot
    public let momentum: Float
    public let epsilon: Float
    public let synchronized: Bool
    public var synchronizesStatistics: Bool { synchronized }
    public let outputShape: [Int]

    public var ownParameters: [ParameterSlot] { [scale, shift] }
    public var ownBuffers: [BufferSlot] { [runningMean, runningVariance] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let statistics: BatchStatistics = context.isTraining
            ? .batch(momentum: context.updatesRunningStatistics ? momentum : 0,
                     sumAcrossRanks: synchronized ? context.sumAcrossDataGroup : nil)
            : .running
        return context.tape.batchNormalization(input, scale: scale, shift: shift, runningMean: runningMean,
                                               runningVariance: runningVariance, statistics: statistics, epsilon: epsilon)
    }

    /// `{type: batch_norm, momentum: 0.1, epsilon: 1e-5, synchronized: false}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "batch_norm"
        public var momentum: Double
        public var epsilon: Double
        public var synchronized: Bool

        public init(momentum: Double = 0.1, epsilon: Double = 1e-5, synchronized: Bool = false) {
            self.momentum = momentum
            self.epsilon = epsilon
            self.synchronized = synchronized
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case momentum, epsilon, synchronized }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a batch_norm layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let momentum = try c.value(.momentum, or: 0.1), epsilon = try c.value(.epsilon, or: 1e-5)
            try Check.inRange(momentum, 0, 1.000_001, decoder.fieldPath(CodingKeys.momentum))
            try Check.positive(epsilon, decoder.fieldPath(CodingKeys.epsilon))
            self.init(momentum: momentum, epsilon: epsilon, synchronized: try c.value(.synchronized, or: false))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(momentum, forKey: .momentum)
            try c.encode(epsilon, forKey: .epsilon)
            try c.encode(synchronized, forKey: .synchronized)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard let channels = inputShape.first, channels > 0 else {
                throw builder.error("a batch_norm layer needs per-sample inputs with a channel axis, got \(inputShape)")
            }
            let scale = builder.parameter("weight", shape: [channels], isDecayed: false, initializer: .ones)
            let shift = builder.parameter("bias", shape: [channels], isDecayed: false, initializer: nil)
            return BatchNorm(scale: scale, shift: shift,
                             runningMean: builder.buffer("running_mean", shape: [channels], initialValue: 0),
                             runningVariance: builder.buffer("running_var", shape: [channels], initialValue: 1),
                             momentum: Float(momentum), epsilon: Float(epsilon), synchronized: synchronized,
                             outputShape: inputShape)
        }
    }
}

extension LayerConfig {
    /// Batch normalization over the channel axis (the first per-sample axis).
    public static func batchNorm(momentum: Double = 0.1, epsilon: Double = 1e-5, synchronized: Bool = false) -> LayerConfig {
        LayerConfig(BatchNorm.Spec(momentum: momentum, epsilon: epsilon, synchronized: synchronized))
    }
}
