import FlockNN
import FlockTensor

/// Multi-head self-attention split by heads across a tensor-parallel group (Megatron-LM's
/// parallel attention), for any head count: `UnevenSplit` gives the first ranks one head
/// more when the group size does not divide it.
///
/// Rank r holds heads `split.range(of: r)`: the rows of the query, key and value weights
/// (D, D) and biases that compute them (column-parallel), and the columns of the output
/// weight that read them (row-parallel). The input passes through `f` (its gradient
/// summed over the group), each rank attends with its heads only, and `g` sums the output
/// projections' partial products; the output bias lives on the group's rank 0. One
/// allreduce forward and one backward per attention layer.
public struct TensorParallelAttention: Layer {
    public let query: MultiHeadAttention.Projection, key: MultiHeadAttention.Projection
    public let value: MultiHeadAttention.Projection, output: MultiHeadAttention.Projection
    /// This rank's heads.
    public let heads: Int
    public let causal: Bool
    public let outputShape: [Int]
    public let split: UnevenSplit
    public let group: TensorGroup

    public var ownParameters: [ParameterSlot] {
        [query, key, value, output].flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) }
    }

    /// Whether `spec` can be split over `width` ranks: every rank needs a head.
    static func splits(_ spec: AttentionShape, width: Int) -> Bool { spec.heads >= width }

    /// Builds `spec`'s share for `group`'s rank on per-sample inputs (T, D); returns the
    /// layer and where each parameter sits in the unsharded layer.
    static func make(_ spec: AttentionShape, inputShape: [Int], group: TensorGroup,
                     builder: inout LayerBuilder) -> (TensorParallelAttention, [String: ShardPlacement]) {
        let width = inputShape[1], headWidth = width / spec.heads, rank = group.rank
        let split = UnevenSplit(count: spec.heads, parts: group.width)
        let start = split.start(of: rank) * headWidth, length = split.length(of: rank) * headWidth
        var placements: [String: ShardPlacement] = [:]
        func projection(_ name: String, readsHeads: Bool) -> MultiHeadAttention.Projection {
            builder.nested(name, configSuffix: "") { child in
                let path = child.path.joined(separator: ".")
                let weight = ShardPlacement.slice(of: [width, width], axis: readsHeads ? 1 : 0, start: start, length: length)
                placements["\(path).weight"] = weight
                let weightSlot = child.parameter("weight", shape: weight.localShape, isDecayed: true, initializer: nil)
                guard spec.useBias, !readsHeads || rank == 0 else { return .init(weight: weightSlot, bias: nil) }
                let bias = readsHeads ? ShardPlacement.whole([width]) : .slice(of: [width], axis: 0, start: start, length: length)
                placements["\(path).bias"] = bias
                return .init(weight: weightSlot, bias: child.parameter("bias", shape: bias.localShape, isDecayed: false, initializer: nil))
            }
        }
        let layer = TensorParallelAttention(query: projection("query", readsHeads: false), key: projection("key", readsHeads: false),
                                            value: projection("value", readsHeads: false), output: projection("output", readsHeads: true),
                                            heads: split.length(of: rank), causal: spec.causal, outputShape: inputShape,
                                            split: split, group: group)
        return (layer, placements)
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let x = group.copyIn(input)
        let project = { (p: MultiHeadAttention.Projection, x: Variable) in tape.linear(x, weight: p.weight, bias: p.bias) }
        let mask = AttentionMask(causal: causal, keyPadding: context.sequencePadding)
        let attended = tape.attention(query: project(query, x), key: project(key, x), value: project(value, x),
                                      heads: heads, mask: mask)
        return group.reduceOut(project(output, attended))
    }
}
