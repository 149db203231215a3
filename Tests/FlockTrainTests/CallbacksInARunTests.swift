import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// Callbacks inside real training runs (`TrainingRun`, as `flock train` uses it), judged by
/// the files the run writes.
@Suite struct CallbacksInARunTests {
    /// Runs `yaml` (digits, plus the given lines) in a fresh run directory and returns it.
    func train(_ folder: TemporaryFolder, _ yaml: String) throws -> URL {
        let config = try ConfigLoader.decode(yaml: """
            seed: 3
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model:
              - {type: dense, units: 16, activation: relu}
              - {type: dense, units: 10}
            \(yaml)
            """, overrides: [], baseDirectory: "/")
        let run = folder.url.appendingPathComponent("run")
        let training = try TrainingRun(config: config, runDirectory: run.path,
                                       storePath: folder.url.appendingPathComponent("store.sqlite").path)
        _ = try training.run()
        return run
    }

    /// `metrics.jsonl`, one object per epoch.
    func metricsLines(_ run: URL) throws -> [[String: Any]] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test func reduceLROnPlateauHalvesTheRateAfterPatienceEpochsWithoutImprovement() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // A learning rate of 1e-30 moves no weight by a representable amount, so val_loss
        // stays flat: a plateau from epoch 1 on. Patience 2, factor 0.5: epochs 2 and 3
        // do not improve, so epoch 4 trains at half the rate; epochs 4 and 5 do not
        // either, so epoch 6 trains at a quarter.
        let run = try train(folder, """
            epochs: 6
            optimizer: {name: sgd, lr: 1.0e-30}
            callbacks: {reduce_lr_on_plateau: {monitor: val_loss, factor: 0.5, patience: 2}}
            """)
        let lines = try metricsLines(run)
        try #require(lines.count == 6)
        let losses = lines.map { $0["val_loss"] as! Double }
        #expect(losses.allSatisfy { abs($0 - losses[0]) < 1e-9 }, "val_loss did not plateau: \(losses)")
        let rates = lines.map { $0["lr"] as! Double }
        // The rate is a Float: equal to the factor within its precision.
        for (rate, expected) in zip(rates.map { $0 / rates[0] }, [1, 1, 1, 0.5, 0.5, 0.25]) {
            #expect(abs(rate - expected) < 1e-6 * expected, "lr column \(rates)")
        }
        #expect(abs(rates[0] - 1e-30) < 1e-36)
    }

    @Test func csvLoggerWritesAHeaderAndOneRowPerEpochMatchingMetricsJSONL() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try train(folder, """
            epochs: 3
            optimizer: {name: momentum, lr: 0.05}
            metrics: [accuracy, f1]
            callbacks: {csv_logger: true}
            """)
        let lines = try metricsLines(run)
        let rows = try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        // A header, three rows, and the final newline's empty line.
        try #require(rows.count == 5, "\(rows)")
        #expect(rows[4] == [""])
        let header = rows[0]
        #expect(header.first == "epoch")
        #expect(Set(header) == Set(lines[0].keys), "header \(header), JSONL keys \(lines[0].keys.sorted())")
        #expect(header.contains("val_f1") && header.contains("lr") && header.contains("val_loss"))
        for (epoch, (row, line)) in zip(rows[1...3], lines).enumerated() {
            #expect(row.count == header.count)
            #expect(Int(row[0]) == epoch + 1)
            for (column, text) in zip(header, row).dropFirst() {
                let csv = try #require(Double(text)), json = try #require(line[column] as? Double)
                // Foundation's JSONSerialization on Linux prints some doubles a few ulps off
                // (0.05000000074505808 for Double(Float(0.05)) = 0.05000000074505806); the CSV's
                // Swift formatting is exact. Equal to well within a float's precision.
                #expect(abs(csv - json) <= 1e-12 * max(abs(json), 1e-300), "epoch \(epoch + 1) column \(column): \(text) vs \(json)")
            }
        }
    }

    @Test func withoutCSVLoggerThereIsNoCSV() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try train(folder, "epochs: 1")
        #expect(try metricsLines(run).count == 1)
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("metrics.csv").path))
    }
}
