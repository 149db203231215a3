import FlockStore
import FlockSweep
import FlockTestSupport
import Foundation
import Testing
@testable import FlockReport

/// A study with a categorical parameter: its chart has one x position per category.
@Suite struct CategoricalStudyTests {
    @Test func aCategoricalParameterIsDrawnOnACategoryAxisAndRankedByItsEffect() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let store = folder.url.appendingPathComponent("flock.sqlite").path
        let sweep = try SweepConfig.parse("""
            study: categories
            base_config:
              data: {source: \(ChildProcess.digitsCSV), label_column: label}
              model: [{type: dense, units: 10}]
            space:
              - {name: optimizer.name, type: categorical, choices: [sgd, adam, rmsprop]}
              - {name: optimizer.lr, type: float, low: 0.001, high: 0.1, log: true}
            objective: {metric: val_loss, direction: minimize}
            budget: {trials: 12}
            sampler: {name: random}
            """, baseDirectory: "/")
        // The optimizer decides the objective; the learning rate adds a little.
        let runner = FunctionRunner { params in
            let shift = ["sgd": 2.0, "adam": 0.0, "rmsprop": 1.0][params["optimizer.name"]!.description]!
            return shift + 0.01 * params["optimizer.lr"]!.doubleValue!
        }
        _ = try SweepDriver(sweep: sweep, store: try ExperimentStore(path: store), directory: folder.url, runner: runner).run(workers: 1)
        let html = try Report.make(target: store).html
        let chart = try #require(html.components(separatedBy: "<h3>optimizer.name</h3>").dropFirst().first?.components(separatedBy: "</svg>").first)
        for category in ["adam", "rmsprop", "sgd"] { #expect(chart.contains("text-anchor=\"middle\">\(category)</text>"), "\(category)") }
        #expect(chart.contains("data-tip=\"trial 0 · optimizer.name "))
        let importance = try #require(html.components(separatedBy: "<h3>Parameter importance</h3>").dropFirst().first)
        let bars = importance.components(separatedBy: "<rect class=\"bar\"").dropFirst().map { $0.components(separatedBy: "data-tip=\"").last!.prefix(14) }
        #expect(bars.first == "optimizer.name", "\(bars)")
    }
}
