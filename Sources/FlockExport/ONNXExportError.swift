/// Why a model could not be written as ONNX; nothing is written when one is thrown.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    /// A layer kind with no ONNX counterpart (or none written yet).
    case unsupportedLayer(path: String, kind: String)
    /// A layer whose kind exports, but not with this setting.
    case unsupportedSetting(path: String, kind: String, reason: String)
    /// Something about the model as a whole (a graph model's feature, an output).
    case unsupportedModel(String)
    /// The file could not be written there.
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(path, kind):
            return "layer \(path) (\(kind)) has no ONNX equivalent in flock export; nothing was written"
        case let .unsupportedSetting(path, kind, reason):
            return "layer \(path) (\(kind)): \(reason) has no ONNX equivalent in flock export; nothing was written"
        case let .unsupportedModel(reason):
            return "\(reason); nothing was written"
        case let .unwritable(path, reason):
            return "\(path): cannot write the ONNX file: \(reason)"
        }
    }
}
