import FlockNN
import FlockTensor

/// A Dense layer split across a tensor-parallel group (Megatron-LM's parallel linear
/// layers), for any width: `UnevenSplit` gives the first ranks one unit more when the
/// group size does not divide it.
///
/// - column: each rank holds rows `r` of the weight (units, C) and of the bias, so it
///   computes its slice of the output features; the input passes through `f` (its
///   gradient is summed over the group). With `gathersOutput` the slices are gathered
///   into the whole output (a column layer with no row layer after it).
/// - row: each rank holds columns `r` of the weight, takes its slice of the input
///   features (a column layer's output) and its partial products are summed by `g`; the
///   bias lives on the group's rank 0 only, so it is added once.
///
/// An MLP block `column → activation → row` costs one allreduce forward and one backward.
public struct TensorParallelDense: Layer {
    public enum Role: Equatable, Sendable {
        case column(gathersOutput: Bool)
        case row
    }

    public let role: Role
    public let weight: ParameterSlot
    public let bias: ParameterSlot?
    public let activation: Activation
    public let activationAlpha: Float?
    /// Per-sample output shape as this rank produces it (a column layer without gather:
    /// its slice of the units).
    public let outputShape: [Int]
    /// The split of the layer's units (column) or input features (row).
    public let split: UnevenSplit
    public let group: TensorGroup

    public var ownParameters: [ParameterSlot] { [weight] + (bias.map { [$0] } ?? []) }

    /// Builds `spec` as a `role` layer on `group`'s rank, for per-sample inputs of
    /// `inputShape` (for a row layer: this rank's slice of the features). Returns the
    /// layer and where each of its parameters sits in the unsharded layer.
    static func make(_ spec: LinearShape, role: Role, inputShape: [Int], globalInputFeatures: Int, group: TensorGroup,
                     builder: inout LayerBuilder) -> (TensorParallelDense, [String: ShardPlacement]) {
        let units = spec.units, rank = group.rank
        let split = UnevenSplit(count: role == .row ? globalInputFeatures : units, parts: group.width)
        let globalWeight = [units, globalInputFeatures], path = builder.path.joined(separator: ".")
        var placements: [String: ShardPlacement] = [:]
        let weight: ParameterSlot, bias: ParameterSlot?
        let weightPlacement: ShardPlacement
        switch role {
        case .column:
            weightPlacement = .slice(of: globalWeight, axis: 0, start: split.start(of: rank), length: split.length(of: rank))
            weight = builder.parameter("weight", shape: weightPlacement.localShape, isDecayed: true, initializer: nil)
            bias = spec.useBias ? builder.parameter("bias", shape: [split.length(of: rank)], isDecayed: false, initializer: nil) : nil
            if bias != nil {
                placements["\(path).bias"] = .slice(of: [units], axis: 0, start: split.start(of: rank), length: split.length(of: rank))
            }
        case .row:
            weightPlacement = .slice(of: globalWeight, axis: 1, start: split.start(of: rank), length: split.length(of: rank))
            weight = builder.parameter("weight", shape: weightPlacement.localShape, isDecayed: true, initializer: nil)
            bias = spec.useBias && rank == 0 ? builder.parameter("bias", shape: [units], isDecayed: false, initializer: nil) : nil
            if bias != nil { placements["\(path).bias"] = .whole([units]) }
        }
        placements["\(path).weight"] = weightPlacement
        let outputUnits: Int
        if case .column(gathersOutput: false) = role { outputUnits = split.length(of: rank) } else { outputUnits = units }
        let layer = TensorParallelDense(role: role, weight: weight, bias: bias, activation: spec.activation,
                                        activationAlpha: spec.alpha.map(Float.init),
                                        outputShape: Array(inputShape.dropLast()) + [outputUnits], split: split, group: group)
        return (layer, placements)
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        switch role {
        case .column(let gathersOutput):
            let x = group.copyIn(input)
            let y = activation == .relu
                ? tape.linear(x, weight: weight, bias: bias, relu: true)
                : tape.activation(tape.linear(x, weight: weight, bias: bias), activation, alpha: activationAlpha)
            return gathersOutput ? group.gatherLastAxis(y, split: split) : y
        case .row:
            let summed = group.reduceOut(tape.linear(input, weight: weight, bias: bias))
            return tape.activation(summed, activation, alpha: activationAlpha)
        }
    }
}
