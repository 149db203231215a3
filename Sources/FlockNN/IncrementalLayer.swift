import FlockTensor

/// A layer that decodes one position at a time (incremental decoding): it keeps what the
/// earlier positions left (a decoder's keys and values) in a `DecodingState`, so each new
/// step computes the new position only. `step` on positions 0, 1, … gives, position by
/// position, what `forward` gives on the whole sequence (tested to 1e-5).
public protocol IncrementalLayer: Layer {
    /// The state before position 0, given what the node attends to.
    func beginDecoding(memory: AttentionMemory?, context: inout ForwardContext) -> DecodingState
    /// The output (B, 1, …) at `position` of the input there (B, 1, …).
    func step(_ input: Variable, position: Int, state: inout DecodingState, context: inout ForwardContext) -> Variable
}

/// A layer whose output at each position depends on its input at that position alone
/// (dense, layer norm, an embedding): decoding runs its `forward` on the new position.
public protocol PositionwiseLayer: Layer {}

extension Dense: PositionwiseLayer {}
extension LayerNorm: PositionwiseLayer {}
extension Embedding: PositionwiseLayer {}
extension ActivationLayer: PositionwiseLayer {}
extension Dropout: PositionwiseLayer {}

/// What an incremental layer keeps between steps: tensors whose first axis is the batch
/// (or a beam search's hypotheses), so a search reorders them with `selectingRows`.
public struct DecodingState: Sendable {
    public var tensors: [Tensor?]

    public init(tensors: [Tensor?] = []) { self.tensors = tensors }

    /// Row `rows[i]` of every tensor becomes row i (the beams a search keeps).
    public func selectingRows(_ rows: [Int]) -> DecodingState {
        DecodingState(tensors: tensors.map { $0.map { tensor in
            let width = tensor.count / max(tensor.shape[0], 1)
            var scalars: [Float] = []
            scalars.reserveCapacity(rows.count * width)
            for row in rows { scalars += tensor.scalars[(row * width)..<((row + 1) * width)] }
            return Tensor(shape: [rows.count] + tensor.shape.dropFirst(), scalars: scalars)
        } })
    }
}
