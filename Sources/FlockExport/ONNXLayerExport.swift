import FlockNN
import FlockTensor

/// A layer that writes itself as ONNX nodes. Each layer kind with an ONNX equivalent
/// conforms in its own `…+ONNX.swift` file; a layer that does not conform is refused by
/// `ONNXLayerContext.export` with an error naming its path and kind.
protocol ONNXExportable {
    /// Appends the nodes that compute this layer at inference on `input` (N, inputShape…);
    /// returns its output (N, outputShape…).
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue
}

/// What a layer's export reads besides its input: where it sits and the trained values.
struct ONNXLayerContext {
    /// The layer's parameter path (`layers.3`, `layers.3.block.0`).
    var path: String
    let parameters: ParameterStore
    /// Per top-level path, the config's layer kind (`dense`), for errors.
    let kinds: [String: String]
    /// (N, T) float, 1 at padding: set by an embedding with `padding_id`, read by attention
    /// and mean pooling (`ForwardContext.sequencePadding`'s counterpart).
    var padding: String?

    /// The trained values of a parameter, row-major.
    func values(_ slot: ParameterSlot) -> [Float] { parameters.value(of: slot).scalars }
    func values(_ slot: BufferSlot) -> [Float] { parameters.value(of: slot).scalars }

    /// A name for one of this layer's nodes (`layers.3/matmul`).
    func name(_ part: String) -> String { "\(path)/\(part)" }

    /// Exports `layer` at `path` (a child's: `parent.name`), or throws naming it when it
    /// has no ONNX counterpart here.
    mutating func export(_ layer: any Layer, at path: String, input: ONNXValue,
                         to graph: inout ONNXGraphBuilder) throws -> ONNXValue {
        let outer = self.path
        self.path = path
        defer { self.path = outer }
        if let recomputed = layer as? RecomputedLayer {
            return try export(recomputed.inner, at: path, input: input, to: &graph)
        }
        guard let exportable = layer as? any ONNXExportable else {
            throw ONNXExportError.unsupportedLayer(path: path, kind: kind(of: layer))
        }
        return try exportable.exportONNX(input, to: &graph, context: &self)
    }

    /// Refuses a layer setting that has no ONNX counterpart here.
    func unsupported(_ layer: any Layer, _ reason: String) -> ONNXExportError {
        .unsupportedSetting(path: path, kind: kind(of: layer), reason: reason)
    }

    /// The config's `type:` for the layer at `path`: written in the config, or (a layer
    /// inside a block) the registered kind whose spec is nested in the layer's type
    /// (`LatentNoise.Spec`), else the Swift type's name.
    func kind(of layer: any Layer) -> String {
        if let kind = kinds[path] { return kind }
        let specName = String(reflecting: type(of: layer)) + ".Spec"
        return LayerRegistry.standard.kinds.first { String(reflecting: $0) == specName }?.typeName ?? String(describing: type(of: layer))
    }
}
