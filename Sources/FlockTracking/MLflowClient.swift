import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One MLflow tracking server, spoken to through its REST API (2.0) one blocking request
/// at a time: `MLflowQueue` calls it from its own thread, never from training.
public struct MLflowClient: Sendable {
    /// `http(s)://host:port`, the address `mlflow server` listens on.
    public let server: URL
    /// Seconds a request may take.
    public let timeout: Double

    public init(server: URL, timeout: Double = 10) {
        self.server = server
        self.timeout = timeout
    }

    /// The id of the experiment called `name`, created when there is none.
    public func experimentID(named name: String) throws -> String {
        do {
            return try experimentID(from: get("mlflow/experiments/get-by-name", ["experiment_name": name]))
        } catch let error as MLflowError where error.code == "RESOURCE_DOES_NOT_EXIST" {
            do {
                let created = try post("mlflow/experiments/create", ["name": name])
                guard let id = created["experiment_id"] as? String else { throw MLflowError.malformed("experiments/create", created) }
                return id
            } catch let error as MLflowError where error.code == "RESOURCE_ALREADY_EXISTS" {
                // Another process created it between the two calls.
                return try experimentID(from: get("mlflow/experiments/get-by-name", ["experiment_name": name]))
            }
        }
    }

    /// Creates a run; returns its id and artifact URI.
    public func createRun(experimentID: String, name: String, tags: [String: String]) throws -> (id: String, artifactURI: String) {
        let body: [String: Any] = ["experiment_id": experimentID, "run_name": name, "start_time": Self.now(),
                                   "tags": tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }]
        return try runInfo(post("mlflow/runs/create", body), endpoint: "runs/create")
    }

    /// An existing run's id and artifact URI (a resumed run continues it).
    public func run(id: String) throws -> (id: String, artifactURI: String) {
        try runInfo(get("mlflow/runs/get", ["run_id": id]), endpoint: "runs/get")
    }

    public func logBatch(runID: String, _ batch: MLflowBatch) throws {
        let pairs = { (entries: [String: String]) in entries.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] } }
        let metrics = batch.metrics.map { ["key": $0.key, "value": $0.value, "timestamp": $0.timestamp, "step": $0.step] as [String: Any] }
        _ = try post("mlflow/runs/log-batch", ["run_id": runID, "metrics": metrics, "params": pairs(batch.params), "tags": pairs(batch.tags)])
    }

    /// `status`: RUNNING, FINISHED, FAILED or KILLED.
    public func updateRun(runID: String, status: String, endTime: Int64?) throws {
        var body: [String: Any] = ["run_id": runID, "status": status]
        if let endTime { body["end_time"] = endTime }
        _ = try post("mlflow/runs/update", body)
    }

    /// Stores `data` as the artifact `path` of the run whose artifact URI is `artifactURI`,
    /// through the server's artifact proxy (`mlflow server` serves it unless started with
    /// `--no-serve-artifacts`).
    public func uploadArtifact(_ data: Data, artifactURI: String, path: String) throws {
        let prefix = "mlflow-artifacts:"
        guard artifactURI.hasPrefix(prefix) else {
            throw MLflowError(endpoint: "mlflow-artifacts", status: nil, code: "ARTIFACTS_NOT_PROXIED", retryable: false,
                              message: "the run's artifact URI \(artifactURI) is not served by the tracking server (start it without --no-serve-artifacts)")
        }
        var location = String(artifactURI.dropFirst(prefix.count))
        while location.hasPrefix("/") { location.removeFirst() }
        let encoded = (location + "/" + path).split(separator: "/").map {
            $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? String($0)
        }.joined(separator: "/")
        _ = try send("PUT", "mlflow-artifacts/artifacts/\(encoded)", query: [:], body: data, contentType: "application/octet-stream")
    }

    /// Milliseconds since 1970, MLflow's timestamps.
    public static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    // MARK: Requests

    func get(_ endpoint: String, _ query: [String: String]) throws -> [String: Any] {
        try send("GET", endpoint, query: query, body: nil, contentType: nil)
    }

    func post(_ endpoint: String, _ body: [String: Any]) throws -> [String: Any] {
        try send("POST", endpoint, query: [:], body: try JSONSerialization.data(withJSONObject: body), contentType: "application/json")
    }

    /// One request under `timeout`; the answer's JSON object, or an `MLflowError` that says
    /// whether trying again may help (no answer, 5xx, 429) or not (any other refusal).
    private func send(_ method: String, _ endpoint: String, query: [String: String], body: Data?, contentType: String?) throws -> [String: Any] {
        var components = URLComponents(url: server.appendingPathComponent("api/2.0/" + endpoint), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        guard let url = components.url else { throw MLflowError.malformed(endpoint, [:]) }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, status) = try HTTPExchange.perform(request, deadline: timeout + 1, endpoint: endpoint)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            let message = object["message"] as? String ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw MLflowError(endpoint: endpoint, status: status, code: object["error_code"] as? String,
                              retryable: status >= 500 || status == 429, message: message)
        }
        return object
    }

    private func experimentID(from answer: [String: Any]) throws -> String {
        guard let experiment = answer["experiment"] as? [String: Any], let id = experiment["experiment_id"] as? String else {
            throw MLflowError.malformed("experiments/get-by-name", answer)
        }
        return id
    }

    private func runInfo(_ answer: [String: Any], endpoint: String) throws -> (id: String, artifactURI: String) {
        guard let run = answer["run"] as? [String: Any], let info = run["info"] as? [String: Any],
              let id = info["run_id"] as? String, let artifactURI = info["artifact_uri"] as? String else {
            throw MLflowError.malformed(endpoint, answer)
        }
        return (id, artifactURI)
    }
}

/// Metrics, params and tags for one `runs/log-batch` call (at most 1000 metrics, 100
/// params and 100 tags: `MLflowBatch.split` cuts larger sets).
public struct MLflowBatch: Codable, Sendable, Equatable {
    public struct Metric: Codable, Sendable, Equatable {
        public let key: String
        public let value: Double
        /// Milliseconds since 1970.
        public let timestamp: Int64
        public let step: Int

        public init(key: String, value: Double, timestamp: Int64, step: Int) {
            self.key = key
            self.value = value
            self.timestamp = timestamp
            self.step = step
        }
    }

    public var metrics: [Metric]
    public var params: [String: String]
    public var tags: [String: String]

    public init(metrics: [Metric] = [], params: [String: String] = [:], tags: [String: String] = [:]) {
        self.metrics = metrics
        self.params = params
        self.tags = tags
    }

    /// MLflow's limits on one request.
    static let maxMetrics = 1000, maxParams = 100, maxTags = 100

    /// `metrics`, `params` and `tags` in as few batches as MLflow's limits allow.
    public static func split(metrics: [Metric] = [], params: [String: String] = [:], tags: [String: String] = [:]) -> [MLflowBatch] {
        let metricChunks = stride(from: 0, to: metrics.count, by: maxMetrics).map { Array(metrics[$0..<min($0 + maxMetrics, metrics.count)]) }
        let paramChunks = chunks(params, of: maxParams), tagChunks = chunks(tags, of: maxTags)
        let count = max(metricChunks.count, paramChunks.count, tagChunks.count)
        return (0..<count).map { index in
            MLflowBatch(metrics: index < metricChunks.count ? metricChunks[index] : [],
                        params: index < paramChunks.count ? paramChunks[index] : [:],
                        tags: index < tagChunks.count ? tagChunks[index] : [:])
        }
    }

    private static func chunks(_ entries: [String: String], of size: Int) -> [[String: String]] {
        let sorted = entries.sorted { $0.key < $1.key }
        return stride(from: 0, to: sorted.count, by: size).map { start in
            Dictionary(uniqueKeysWithValues: sorted[start..<min(start + size, sorted.count)].map { ($0.key, $0.value) })
        }
    }
}
