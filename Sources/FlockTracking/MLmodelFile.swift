import Foundation

/// The `MLmodel` file of a logged model: which flavors its files make. The files are the
/// run directory's (`model.safetensors`, `config.yaml`, `preprocessing.json`, in Flock's
/// own flavor); when `model.onnx` is among them, the `onnx` and `python_function`
/// flavors are written too, so `mlflow.pyfunc.load_model` serves it with ONNX Runtime.
enum MLmodelFile {
    static func text(files: [String], runID: String, date: Date = Date(), uuid: UUID = UUID()) -> String {
        var lines = ["artifact_path: model", "flavors:", "  flock:"]
        for (key, file) in [("data", "model.safetensors"), ("config", "config.yaml"), ("preprocessing", "preprocessing.json")]
        where files.contains(file) { lines.append("    \(key): \(file)") }
        lines.append("    format: safetensors")
        if files.contains("model.onnx") {
            lines += ["  onnx:", "    data: model.onnx", "    providers:", "    - CPUExecutionProvider",
                      "  python_function:", "    data: model.onnx", "    loader_module: mlflow.onnx"]
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
        lines.append("model_uuid: \(uuid.uuidString.lowercased().replacingOccurrences(of: "-", with: ""))")
        lines.append("run_id: \(runID)")
        lines.append("utc_time_created: '\(formatter.string(from: date))'")
        return lines.joined(separator: "\n") + "\n"
    }
}
