import FlockNN
import FlockTensor

/// A Transformer encoder block split across a tensor-parallel group as Megatron-LM splits
/// it: attention by heads (`TensorParallelAttention`), the MLP as a column → row pair of
/// `TensorParallelDense`; the two layer norms are replicated (their inputs, after `g`,
/// are the same on every rank). Two allreduces forward and two backward per block.
enum TensorParallelEncoder {
    /// Whether `spec` can be split over `width` ranks: every rank needs a head and a
    /// hidden unit; otherwise the block is replicated.
    static func splits(_ spec: TransformerBlockShape, width: Int, features: Int) -> Bool {
        spec.heads >= width && (spec.mlpUnits ?? 4 * features) >= width
    }

    /// Builds `spec`'s share for `group`'s rank on per-sample inputs (T, D), with the same
    /// parameter names as the unsharded block; returns it and its split parameters' placements.
    static func make(_ spec: TransformerBlockShape, inputShape: [Int], group: TensorGroup,
                     builder: inout LayerBuilder) throws -> (any Layer, [String: ShardPlacement]) {
        let width = inputShape[1], hidden = spec.mlpUnits ?? 4 * width
        var placements: [String: ShardPlacement] = [:]
        func whole(_ name: String, _ config: LayerConfig) throws -> any Layer {
            try builder.nested(name, configSuffix: ".\(name)") { try config.makeLayer(inputShape: inputShape, builder: &$0) }
        }
        func dense(_ name: String, units: Int, activation: Activation, role: TensorParallelDense.Role,
                   input: [Int], globalInputFeatures: Int) -> any Layer {
            builder.nested(name, configSuffix: ".\(name)") { child in
                let spec = LinearShape(units: units, activation: activation)
                let (layer, placed) = TensorParallelDense.make(spec, role: role, inputShape: input,
                                                               globalInputFeatures: globalInputFeatures, group: group, builder: &child)
                placements.merge(placed) { $1 }
                return layer
            }
        }
        let attentionNorm = try whole("attention_norm", .layerNorm())
        let attention = builder.nested("attention", configSuffix: ".attention") { child -> any Layer in
            let attentionSpec = AttentionShape(heads: spec.heads, causal: spec.causal)
            let (layer, placed) = TensorParallelAttention.make(attentionSpec, inputShape: inputShape, group: group, builder: &child)
            placements.merge(placed) { $1 }
            return layer
        }
        let mlpNorm = try whole("mlp_norm", .layerNorm())
        let mlpIn = dense("mlp_in", units: hidden, activation: spec.activation, role: .column(gathersOutput: false),
                          input: inputShape, globalInputFeatures: width)
        let mlpOut = dense("mlp_out", units: width, activation: .linear, role: .row, input: mlpIn.outputShape,
                           globalInputFeatures: hidden)
        let block = TransformerEncoder(attentionNorm: attentionNorm, attention: attention, mlpNorm: mlpNorm, mlpIn: mlpIn,
                                       mlpOut: mlpOut, dropout: Float(spec.dropout))
        return (block, placements)
    }
}
