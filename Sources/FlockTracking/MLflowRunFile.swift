import FlockTrain
import Foundation

/// `mlflow.json` in a run directory: the MLflow run the run is logged to, so that a
/// resumed run (`flock train --resume`) continues it instead of starting another.
///
/// ```json
/// {"tracking_uri": "http://localhost:5000", "experiment_id": "1", "run_id": "6c0d…"}
/// ```
public struct MLflowRunFile: Codable, Sendable, Equatable {
    public static let fileName = "mlflow.json"

    public let trackingURI: String
    public let experimentID: String
    public let runID: String

    enum CodingKeys: String, CodingKey {
        case trackingURI = "tracking_uri"
        case experimentID = "experiment_id"
        case runID = "run_id"
    }

    public init(trackingURI: String, experimentID: String, runID: String) {
        self.trackingURI = trackingURI
        self.experimentID = experimentID
        self.runID = runID
    }

    /// The file in `directory`; nil when there is none or it cannot be read (a new run then).
    public static func read(in directory: URL, named name: String = fileName) -> MLflowRunFile? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { return nil }
        return try? JSONDecoder().decode(MLflowRunFile.self, from: data)
    }

    public func write(in directory: URL, named name: String = fileName) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(self), to: directory.appendingPathComponent(name))
    }
}
