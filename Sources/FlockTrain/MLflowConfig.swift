import FlockNN
import Foundation

/// `callbacks.mlflow`: track the run on an MLflow server through its REST API. Rank 0
/// logs the resolved config as parameters, each epoch's metrics (step = epoch), tags and,
/// at the end, the model files and report as artifacts. A server that is down or slow
/// never stops or slows training: requests wait in a queue on a background thread.
///
/// ```yaml
/// callbacks:
///   mlflow: {tracking_uri: http://mlflow.internal:5000, experiment: digits}
///   # or `mlflow: true`: MLFLOW_TRACKING_URI, the experiment named after the config
/// ```
public struct MLflowConfig: Codable, Sendable, Equatable {
    /// `http(s)://host:port` of `mlflow server`; nil: `MLFLOW_TRACKING_URI` when training starts.
    public var trackingURI: String?
    /// The experiment's name (created when missing); nil: the config's `name`.
    public var experiment: String?
    /// Seconds one request may take before it counts as failed and is retried.
    public var requestTimeout: Double
    /// Seconds the end of a run waits at most for queued requests to go out.
    public var flushTimeout: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case trackingURI = "tracking_uri"
        case experiment
        case requestTimeout = "request_timeout"
        case flushTimeout = "flush_timeout"
    }

    public static let environmentVariable = "MLFLOW_TRACKING_URI"

    public init(trackingURI: String? = nil, experiment: String? = nil, requestTimeout: Double = 10, flushTimeout: Double = 30) {
        self.trackingURI = trackingURI
        self.experiment = experiment
        self.requestTimeout = requestTimeout
        self.flushTimeout = flushTimeout
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(trackingURI: try c.decodeIfPresent(String.self, forKey: .trackingURI),
                  experiment: try c.decodeIfPresent(String.self, forKey: .experiment),
                  requestTimeout: try c.value(.requestTimeout, or: 10), flushTimeout: try c.value(.flushTimeout, or: 30))
    }

    func validate(path: String) throws {
        if let trackingURI { _ = try Self.serverURL(trackingURI, path: "\(path).tracking_uri") }
        if let experiment, experiment.isEmpty { throw ConfigError(path: "\(path).experiment", "expected a non-empty name") }
        try Check.positive(requestTimeout, atMost: 600, "\(path).request_timeout")
        try Check.nonNegative(flushTimeout, "\(path).flush_timeout")
    }

    /// The server to talk to: `tracking_uri`, else `MLFLOW_TRACKING_URI` in `environment`.
    public func resolvedServer(environment: [String: String] = ProcessInfo.processInfo.environment,
                               path: String = "callbacks.mlflow") throws -> URL {
        if let trackingURI { return try Self.serverURL(trackingURI, path: "\(path).tracking_uri") }
        guard let fromEnvironment = environment[Self.environmentVariable], !fromEnvironment.isEmpty else {
            throw ConfigError(path: "\(path).tracking_uri", "not given and \(Self.environmentVariable) is not set")
        }
        return try Self.serverURL(fromEnvironment, path: Self.environmentVariable)
    }

    /// Only servers spoken to over HTTP: a `file:` or `databricks` URI is refused by name.
    static func serverURL(_ text: String, path: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil else {
            throw ConfigError(path: path, "expected the http(s):// address of an MLflow tracking server, got '\(text)'")
        }
        return url
    }
}
