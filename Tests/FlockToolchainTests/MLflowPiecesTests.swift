import FlockTestSupport
import Foundation
import Testing
import Flock
@testable import FlockTracking

/// The parts of MLflow tracking that need no server: config errors by field path, the
/// server address from the environment, MLflow's key rules and request limits.
@Suite struct MLflowPiecesTests {
    static func decode(_ callbacks: String) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: ToolchainFixtures.config(name: "pieces", "callbacks: \(callbacks)"), baseDirectory: "/")
    }

    @Test func aTrackingURIThatIsNotHTTPIsAnErrorNamingTheField() throws {
        do {
            _ = try Self.decode("{mlflow: {tracking_uri: 'file:///tmp/mlruns'}}")
            Issue.record("a file: URI was accepted")
        } catch let error as ConfigError {
            #expect(error.path == "callbacks.mlflow.tracking_uri", "\(error)")
            #expect("\(error)".contains("http(s)://"))
        }
        do {
            _ = try Self.decode("{mlflow: {experiment: x, tracking_url: http://a}}")
            Issue.record("an unknown field was accepted")
        } catch let error as ConfigError {
            #expect("\(error)".contains("tracking_url"), "\(error)")
        }
    }

    @Test func mlflowTrueTakesTheServerFromTheEnvironmentAndSaysSoWhenItIsMissing() throws {
        let settings = try #require(try Self.decode("{mlflow: true}").callbacks.mlflow)
        #expect(try settings.resolvedServer(environment: ["MLFLOW_TRACKING_URI": "http://tracker:5000"]).absoluteString == "http://tracker:5000")
        #expect(throws: ConfigError.self) { try settings.resolvedServer(environment: [:]) }
        do { _ = try settings.resolvedServer(environment: [:]) } catch let error as ConfigError {
            #expect(error.path == "callbacks.mlflow.tracking_uri")
            #expect("\(error)".contains("MLFLOW_TRACKING_URI is not set"))
        }
        // A given tracking_uri wins over the environment.
        let given = MLflowConfig(trackingURI: "http://given:1")
        #expect(try given.resolvedServer(environment: ["MLFLOW_TRACKING_URI": "http://other:2"]).absoluteString == "http://given:1")
        #expect(try Self.decode("{mlflow: false}").callbacks.mlflow == nil)
    }

    @Test func keysBecomeWhatMLflowAcceptsAndBatchesKeepItsLimits() {
        #expect(MLflowNames.key("model[0].block[12].units") == "model.0.block.12.units")
        #expect(MLflowNames.key("val_top-5/acc:x y") == "val_top-5/acc:x y")
        #expect(MLflowNames.key("a*b(c)") == "a_b_c_")
        #expect(MLflowNames.value(String(repeating: "x", count: 7000)).count == 6000)
        let params = Dictionary(uniqueKeysWithValues: (0..<250).map { ("p\($0)", "\($0)") })
        let metrics = (0..<2500).map { MLflowBatch.Metric(key: "m", value: Double($0), timestamp: 0, step: $0) }
        let batches = MLflowBatch.split(metrics: metrics, params: params)
        #expect(batches.count == 3)
        #expect(batches.allSatisfy { $0.metrics.count <= 1000 && $0.params.count <= 100 && $0.tags.count <= 100 })
        #expect(batches.flatMap(\.metrics) == metrics)
        #expect(batches.reduce(into: [String: String]()) { $0.merge($1.params) { a, _ in a } } == params)
    }

    /// With the server absent from the start, the queue never blocks its caller, and the
    /// flush hands back every request (none is lost). The flush bounds its own wait
    /// (timeout + the client's + 2 s).
    @Test(.hangLimit) func aQueueToAnAbsentServerKeepsEveryRequest() throws {
        let port = try FreePort.find()
        let queue = MLflowQueue(client: MLflowClient(server: URL(string: "http://127.0.0.1:\(port)")!, timeout: 2))
        let run = queue.start(MLflowRunStart(experiment: "e", name: "r"))
        for step in 1...5 {
            queue.enqueue(.log(MLflowBatch(metrics: [.init(key: "loss", value: Double(step), timestamp: 0, step: step)])), for: run)
        }
        queue.enqueue(.end(status: "FINISHED", endTime: 0), for: run)
        let unsent = queue.flush(timeout: 1)
        #expect(unsent.count == 7, "\(unsent)")
        #expect(unsent.first?.contains("\"start\"") == true && unsent.last?.contains("\"end\"") == true)
    }
}
