import Foundation

/// `mlflow-unsent.jsonl` in a run directory (or a sweep's folder): the requests the
/// server never took, one JSON line each, appended at the end of every attempt, so that
/// nothing sent to MLflow exists only in memory. A resumed run sends the metrics in it
/// again (`MLflowObserver.trainingBegan`).
///
/// ```json
/// {"operation":{"log":{"_0":{"metrics":[{"key":"loss","step":3,…}],…}}},"reason":"not sent: …","runID":"6c0d…"}
/// ```
public enum MLflowUnsentFile {
    public static let fileName = "mlflow-unsent.jsonl"

    struct Line: Codable {
        let runID: String?
        let operation: MLflowOperation
        let reason: String
    }

    /// Appends `lines` (from `MLflowQueue.flush`) to the file in `directory`, and says so.
    public static func keep(_ lines: [String], in directory: URL) {
        guard !lines.isEmpty else { return }
        let file = directory.appendingPathComponent(fileName)
        do {
            if !FileManager.default.fileExists(atPath: file.path) { try Data().write(to: file) }
            let handle = try FileHandle(forWritingTo: file)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        } catch {
            FileHandle.standardError.write(Data("warning: could not keep the unsent MLflow requests in \(file.path): \(error)\n".utf8))
            return
        }
        FileHandle.standardError.write(Data("warning: \(lines.count) MLflow request(s) were not sent; kept in \(file.path)\n".utf8))
    }

    /// The kept operations, in order, and the file removed (what fails again is kept
    /// again); nil when there is none. A line that does not decode is skipped.
    static func take(in directory: URL) -> [MLflowOperation]? {
        let file = directory.appendingPathComponent(fileName)
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        try? FileManager.default.removeItem(at: file)
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Line.self, from: Data($0.utf8)).operation }
    }
}
