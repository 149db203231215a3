import FlockTensor

/// What a decoder attends to besides its own sequence: the second input of its graph node
/// (an encoder's output, (B, S, D_memory)) and the padding of those positions ((B, S), 1
/// at padding; nil when none is marked), as the encoder's embedding marked it.
public struct AttentionMemory {
    public var value: Variable
    public var padding: Tensor?

    public init(value: Variable, padding: Tensor?) {
        self.value = value
        self.padding = padding
    }
}
