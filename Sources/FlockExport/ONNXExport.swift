import FlockNN
import FlockTrain
import Foundation
import SwiftProtobuf

/// What `Predictor.exportONNX(to:)` wrote.
public struct ONNXExportSummary: Sendable {
    /// The graph's input (N, F) and first output (N, C), by name.
    public let input: String, output: String
    public let features: Int, outputs: Int
    public let nodes: Int
    /// Float32 weights and constants written as initializers.
    public let initializerValues: Int
}

/// The trained model as one ONNX graph (opset 17, IR 8): one float32 input `features`
/// (N, F) of raw feature columns in `feature_columns` order; the saved preprocessing
/// (imputation of missing cells, then normalization, then the per-sample shape) as its
/// first nodes; the layers; and a head that gives what `flock predict` reports — class
/// probabilities (N, C) through the softmax (or [1 − p, p] for a binary model), or
/// regression values (N, k) in the data's units (target standardization undone).
/// Class names and feature columns travel as `metadata_props` (JSON text).
enum ONNXExport {
    static let opset: Int64 = 17
    /// IR version 8 (ONNX 1.10, opset 15's era) is read by every ONNX Runtime since 1.10.
    static let irVersion: Int64 = 8

    static func model(of predictor: Predictor) throws -> (Onnx_ModelProto, ONNXExportSummary) {
        let preprocessing = predictor.preprocessing, model = predictor.model
        let features = preprocessing.featureShape.reduce(1, *)
        var graph = ONNXGraphBuilder()
        let input = graph.unique("features")
        let prepared = preprocessed(input, preprocessing: preprocessing, graph: &graph)
        var context = ONNXLayerContext(path: "layers", parameters: model.parameters, kinds: layerKinds(model), padding: nil)
        let raw = if let modelGraph = model.graph {
            try modelGraph.exportONNX(prepared, output: predictor.loss.primaryOutput, to: &graph, context: &context)
        } else {
            try context.export(model.root, at: "layers", input: prepared, to: &graph)
        }
        let (output, outputs) = try head(raw, predictor: predictor, graph: &graph)

        var proto = Onnx_GraphProto()
        proto.name = predictor.config.name
        proto.node = graph.nodes
        proto.initializer = graph.initializers
        proto.input = [valueInfo(input, width: features)]
        proto.output = [valueInfo(output, width: outputs)]
        var onnx = Onnx_ModelProto()
        onnx.irVersion = irVersion
        onnx.producerName = "flock"
        onnx.graph = proto
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = opset
        onnx.opsetImport = [opsetID]
        onnx.metadataProps = try metadata(predictor)
        let summary = ONNXExportSummary(input: input, output: output, features: features, outputs: outputs, nodes: graph.nodes.count,
                                        initializerValues: graph.initializers.reduce(0) { $0 + $1.rawData.count / 4 + $1.int64Data.count })
        return (onnx, summary)
    }

    /// Per path of a layer written in the config (`layers.3`, a graph node's `code.0`), its kind (`dense`).
    static func layerKinds(_ model: Model) -> [String: String] {
        var kinds: [String: String] = [:]
        for (index, layer) in model.layers.enumerated() { kinds["layers.\(index)"] = layer.type }
        for node in model.graph?.config.nodes ?? [] {
            for (index, layer) in (node.layers ?? []).enumerated() { kinds["\(node.name).\(index)"] = layer.type }
        }
        return kinds
    }

    /// Raw rows (N, F) → the model's inputs (N, featureShape…): missing cells (NaN) take the
    /// training mean where imputation was fitted, then (x − offset) · scale per column.
    static func preprocessed(_ input: String, preprocessing: Preprocessing, graph: inout ONNXGraphBuilder) -> ONNXValue {
        let features = preprocessing.featureShape.reduce(1, *)
        // Per column of the row, as `Preprocessing` indexes them (`index % count`).
        let perColumn = { (values: [Float]) in (0..<features).map { values[$0 % values.count] } }
        var x = input
        if let imputation = preprocessing.imputation, !imputation.isEmpty {
            let missing = graph.op("IsNaN", [x], name: "preprocessing/missing")
            x = graph.op("Where", [missing, graph.constant(perColumn(imputation), shape: [features], name: "preprocessing/imputation"), x],
                         name: "preprocessing/imputed")
        }
        let normalizer = preprocessing.normalizer
        if normalizer.method != .none, !normalizer.offset.isEmpty {
            x = graph.op("Sub", [x, graph.constant(perColumn(normalizer.offset), shape: [features], name: "preprocessing/offset")],
                         name: "preprocessing/centred")
            x = graph.op("Mul", [x, graph.constant(perColumn(normalizer.scale), shape: [features], name: "preprocessing/scale")],
                         name: "preprocessing/normalized")
        }
        if preprocessing.featureShape.count > 1 {
            x = graph.reshape(x, perSample: preprocessing.featureShape, name: "preprocessing/shape")
        }
        return ONNXValue(name: x, shape: preprocessing.featureShape)
    }

    /// The model's output → what `Predictor.predict` reports, as (N, width).
    static func head(_ raw: ONNXValue, predictor: Predictor, graph: inout ONNXGraphBuilder) throws -> (String, Int) {
        let width = raw.shape.reduce(1, *)
        let flat = raw.shape.count == 1 ? raw.name : graph.op("Flatten", [raw.name], [ONNXAttribute.int("axis", 1)], name: "head/flatten")
        switch predictor.loss.reading {
        case .classLogits:
            return (graph.op("Softmax", [flat], [ONNXAttribute.int("axis", -1)], name: "probabilities"), width)
        case let .binary(fromLogits):
            guard width == 1 else {
                throw ONNXExportError.unsupportedModel("a binary classifier with \(width) outputs per row (expected 1)")
            }
            let positive = fromLogits ? graph.op("Sigmoid", [flat], name: "head/positive") : flat
            let negative = graph.op("Sub", [graph.constant([1], shape: [], name: "head/one"), positive], name: "head/negative")
            return (graph.op("Concat", [negative, positive], [ONNXAttribute.int("axis", 1)], name: "probabilities"), 2)
        case .values:
            let scaling = predictor.loss.primaryTarget == .targets ? predictor.preprocessing.targetScaling : nil
            guard let scaling else { return (graph.op("Identity", [flat], name: "predictions"), width) }
            let perColumn = { (values: [Float]) in (0..<width).map { values[$0 % values.count] } }
            let scaled = graph.op("Mul", [flat, graph.constant(perColumn(scaling.std), shape: [width], name: "head/target_std")],
                                  name: "head/target_scaled")
            return (graph.op("Add", [scaled, graph.constant(perColumn(scaling.mean), shape: [width], name: "head/target_mean")],
                             name: "predictions"), width)
        }
    }

    /// A float32 (N, width) tensor's description, N left symbolic.
    static func valueInfo(_ name: String, width: Int) -> Onnx_ValueInfoProto {
        var batch = Onnx_TensorShapeProto.Dimension(), columns = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "N"
        columns.dimValue = Int64(width)
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape.dim = [batch, columns]
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }

    /// `class_names`, `feature_columns` (JSON arrays), `label_column`, `output` (what the
    /// first output holds) and the checkpoint it came from.
    static func metadata(_ predictor: Predictor) throws -> [Onnx_StringStringEntryProto] {
        let json = { (values: [String]) throws -> String in String(decoding: try JSONEncoder().encode(values), as: UTF8.self) }
        var entries: [(String, String)] = [("source", predictor.choice)]
        if predictor.preprocessing.classCount != nil { entries.append(("class_names", try json(predictor.classNames))) }
        if let columns = predictor.preprocessing.featureColumns { entries.append(("feature_columns", try json(columns))) }
        if let label = predictor.preprocessing.labelColumn { entries.append(("label_column", label)) }
        entries.append(("output", predictor.loss.reading == .values ? "values in the data's units" : "class probabilities"))
        return entries.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
    }
}

extension Predictor {
    /// Writes the model, its preprocessing and its output head as an ONNX file at `url`
    /// (see `ONNXExport`): whole or not at all (a temporary file renamed). Throws
    /// `ONNXExportError` naming the first layer with no ONNX equivalent.
    ///
    /// ```swift
    /// let predictor = try Predictor(path: "runs/digits-mlp-2026…")
    /// let summary = try predictor.exportONNX(to: URL(fileURLWithPath: "digits.onnx"))
    /// ```
    @discardableResult
    public func exportONNX(to url: URL) throws -> ONNXExportSummary {
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ONNXExportError.unwritable(path: url.path, reason: "no folder \(folder)")
        }
        let (model, summary) = try ONNXExport.model(of: self)
        let bytes: Data = try model.serializedBytes()
        try AtomicFile.write(bytes, to: url)
        return summary
    }
}
