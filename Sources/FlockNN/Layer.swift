/// What a layer needs while it runs forward on one rank.
public struct ForwardContext {
    public let tape: Tape
    /// Training mode: dropout active. Inference: dropout is the identity.
    public var isTraining: Bool
    /// Draws dropout masks; owned by the rank, advanced step by step.
    public var generator: RandomGenerator

    public init(tape: Tape, isTraining: Bool, generator: RandomGenerator) {
        self.tape = tape
        self.isTraining = isTraining
        self.generator = generator
    }
}

/// A building block of a model. Layers register their parameters in a `ParameterStore`
/// when they are built and read them through the tape when they run.
public protocol Layer {
    /// Per-sample output shape (batch dimension excluded).
    var outputShape: [Int] { get }
    /// Runs the layer on a batch: `input` has shape (B, inputShape…).
    func forward(_ input: Variable, context: inout ForwardContext) -> Variable
}
