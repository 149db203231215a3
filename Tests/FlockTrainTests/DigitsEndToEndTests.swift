import FlockTestSupport
import Testing
@testable import FlockTrain

/// The bundled example learns the digits, and the same seed gives the same run.
@Suite struct DigitsEndToEndTests {
    let configPath = ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-mlp.yaml").path

    @Test func reachesNinetyFivePercentAndRepeatsExactly() throws {
        let config = try ConfigLoader.load(path: configPath, overrides: ["epochs=15"])
        var first: [[String: Double]] = []
        let summary = try Trainer(config: config).fit { first.append($0.metrics) }
        #expect(summary.final["val_accuracy"]! >= 0.95, "val_accuracy \(summary.final["val_accuracy"]!)")

        var second: [[String: Double]] = []
        _ = try Trainer(config: config).fit { second.append($0.metrics) }
        #expect(first == second)

        var otherSeed: [[String: Double]] = []
        _ = try Trainer(config: try ConfigLoader.load(path: configPath, overrides: ["epochs=2", "seed=7"])).fit {
            otherSeed.append($0.metrics)
        }
        #expect(otherSeed != Array(first.prefix(2)))
    }
}
