import FlockTensor

/// A layer kind's description before it is built: what one entry of a config's `model:`
/// list holds (`{type: dense, units: 128}`) and what Swift code writes
/// (`.dense(units: 128)`). Decoding checks every field and names it in errors
/// (`model[2].units: expected a positive integer, got -3`); encoding writes every field
/// (the resolved `config.yaml`). Decoders must accept the `type` key
/// (`rejectUnknownKeys(_:alsoAllowed: LayerConfig.sharedKeys)`).
///
/// A new layer kind is one file with its `Layer`, its `LayerSpec` and a
/// `LayerConfig` factory, plus one line in `LayerRegistry.standard` (or a user's own
/// registry).
public protocol LayerSpec: Codable, Sendable {
    /// The `type:` name in configs, e.g. `dense`.
    static var typeName: String { get }
    /// Builds the layer for per-sample inputs of `inputShape`, registering its parameters
    /// and buffers through `builder`. Throws a `ConfigError` (`builder.error`) when the
    /// input shape does not suit the layer.
    func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer
    /// How the layer splits across a tensor-parallel group (default `.replicated`).
    var tensorParallelRole: TensorParallelRole { get }
}

/// Builds layers: registers parameters and buffers under the current path and draws each
/// parameter's initial values from its own counter-based stream, keyed by (seed, path).
public struct LayerBuilder {
    public let parameters: ParameterStore
    public var generator: RandomGenerator
    /// Path of the layer being built, as parameter names use it (`layers.3.block.0`).
    public private(set) var path: [String]
    /// The same place as a config field path (`model[3].block[0]`), for errors.
    public private(set) var configPath: String
    /// Scale on the updates of the parameters registered now (`trainable`, `lr_multiplier`
    /// of the layers being built, multiplied down the nesting).
    public var updateScale = 1.0
    /// Parameters registered with a scale other than 1, by name.
    public private(set) var updateScales: [String: Double] = [:]
    /// How each parameter registered here was (and any slice of it can be) initialized, by name.
    public private(set) var initializations: [String: ParameterInitialization] = [:]
    /// The seed of every parameter's stream: a digest of `generator`'s starting state.
    public let initializationSeed: UInt64
    /// Per-sample shape (S, D_memory) of the second input of the graph node being built,
    /// which its `transformer_decoder` layers attend to; nil outside such a node.
    public var memoryShape: [Int]?
    /// Set by a layer that attends to `memoryShape`'s input, so a node whose layers ignore
    /// their second input is refused.
    public var readsMemory = false

    public init(parameters: ParameterStore, generator: RandomGenerator, path: [String], configPath: String) {
        self.parameters = parameters
        self.generator = generator
        initializationSeed = generator.state.reduce(0x6A09_E667_F3BC_C908) { CounterRandom(key: $0 ^ $1).bits(0) }
        self.path = path
        self.configPath = configPath
    }

    /// Runs `body` one level down: parameter path `name`, config path `configSuffix`
    /// (`[2]` or `.block`).
    public mutating func nested<Result>(_ name: String, configSuffix: String,
                                        _ body: (inout LayerBuilder) throws -> Result) rethrows -> Result {
        let savedConfigPath = configPath
        path.append(name)
        configPath += configSuffix
        defer {
            path.removeLast()
            configPath = savedConfigPath
        }
        return try body(&self)
    }

    /// Registers a trainable parameter `<path>.<name>` filled by `initializer` (zero when
    /// nil) from its own stream keyed by (seed, path): see `ParameterInitialization`.
    public mutating func parameter(_ name: String, shape: [Int], isDecayed: Bool, initializer: Initializer?,
                                   fanIn: Int = 0, fanOut: Int = 0) -> ParameterSlot {
        let slot = parameters.register(name: qualified(name), shape: affordable(name, shape), isDecayed: isDecayed)
        if updateScale != 1 { updateScales[slot.name] = updateScale }
        let initialization = ParameterInitialization(initializer: initializer, fanIn: fanIn, fanOut: fanOut,
                                                     stream: CounterRandom(seed: initializationSeed, name: slot.name))
        initializations[slot.name] = initialization
        if initializer != nil && parameters.holdsValues { parameters.withParameter(slot) { initialization.fill($0) } }
        return slot
    }

    /// Sets elements `range` (flat) of `slot` to zero, now and in every slice made of it
    /// later (an embedding's padding row).
    public mutating func zero(_ range: Range<Int>, of slot: ParameterSlot) {
        initializations[slot.name]?.zeroed.append(range)
        guard parameters.holdsValues else { return }
        parameters.withParameter(slot) { UnsafeMutableBufferPointer(rebasing: $0[range]).update(repeating: 0) }
    }

    /// Registers a non-trainable buffer `<path>.<name>`.
    public mutating func buffer(_ name: String, shape: [Int], initialValue: Float) -> BufferSlot {
        parameters.registerBuffer(name: qualified(name), shape: affordable(name, shape), initialValue: initialValue)
    }

    /// The most values (parameters and buffers) a model may hold: 2^31 floats are 8 GiB,
    /// twice that with gradients.
    public static let maximumModelValues = 1 << 31

    /// Why the layer being built cannot be: a parameter too large for memory (checked
    /// before allocation, without overflow). `LayerConfig.makeLayer` throws it.
    public private(set) var oversized: String?

    /// `shape`, or a one-element stand-in when the model would outgrow
    /// `maximumModelValues` (noted in `oversized`; the layer is discarded with an error).
    private mutating func affordable(_ name: String, _ shape: [Int]) -> [Int] {
        var count = 1
        for size in shape {
            let (next, overflow) = count.multipliedReportingOverflow(by: max(size, 0))
            count = overflow ? Int.max : next
        }
        let held = parameters.stateCount
        guard count > Self.maximumModelValues - held else { return shape }
        oversized = oversized ?? "\(qualified(name)) of shape \(shape) would take the model past \(Self.maximumModelValues) values (8 GiB, as much again for gradients)"
        return shape.map { _ in 1 }
    }

    /// A configuration error at the layer being built.
    public func error(_ message: String) -> ConfigError {
        ConfigError(path: configPath, message)
    }

    private func qualified(_ name: String) -> String {
        (path + [name]).joined(separator: ".")
    }
}
