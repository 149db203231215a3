import FlockComm
import FlockData
import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A graph input read from a CSV file of its own (`model.inputs[i].source`), its rows
/// aligned with the data file's: it trains as the same columns in one file do.
@Suite struct InputFilesTests {
    /// The digits split in two: `left.csv` (p0–p31 and the label) and `right.csv` (p32–p63,
    /// 1,797 rows, or one fewer with `dropLast`).
    static func split(_ folder: TemporaryFolder, dropLast: Bool = false) throws -> (left: URL, right: URL) {
        let lines = try String(contentsOfFile: ChildProcess.digitsCSV, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let left = lines.map { ($0[0..<32] + [$0[64]]).joined(separator: ",") }
        let right = lines.map { $0[32..<64].joined(separator: ",") }
        let (leftURL, rightURL) = (folder.url.appendingPathComponent("left.csv"), folder.url.appendingPathComponent("right.csv"))
        try (left.joined(separator: "\n") + "\n").write(to: leftURL, atomically: true, encoding: .utf8)
        try ((dropLast ? right.dropLast() : right[...]).joined(separator: "\n") + "\n").write(to: rightURL, atomically: true, encoding: .utf8)
        return (leftURL, rightURL)
    }

    /// Two inputs of 32 columns, concatenated, a classifier on both; `right` from `source`
    /// when given, else the data file's columns 32–63.
    static func config(data: String, source: String?, _ overrides: [String] = []) throws -> TrainingConfig {
        let right = "{name: right, shape: [32]\(source.map { ", source: \($0)" } ?? "")}"
        return try ConfigLoader.decode(yaml: """
            seed: 7
            epochs: 1
            data: {source: \(data), label_column: label, batch_size: 64, validation_split: 0.2}
            model:
              inputs: [{name: left, shape: [32]}, \(right)]
              nodes:
                - {name: both, inputs: [left, right], op: concatenate, layers: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]}
              outputs: [both]
            loss: cross_entropy
            optimizer: {name: adam, lr: 0.01}
            """, overrides: overrides, baseDirectory: "/")
    }

    @Test func anInputFromItsOwnFileTrainsAsTheSameColumnsInOneFileDo() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (left, right) = try Self.split(folder)
        let twoFiles = try Self.config(data: left.path, source: right.path)
        let oneFile = try Self.config(data: ChildProcess.digitsCSV, source: nil)
        let (a, b) = (try Trainer(config: twoFiles), try Trainer(config: oneFile))
        let (summaryA, summaryB) = (try a.fit(), try b.fit())
        #expect(a.parameters.snapshotParameters() == b.parameters.snapshotParameters())
        #expect(summaryA.final == summaryB.final)
        #expect(summaryA.final["val_accuracy"]! > 0.5, "\(summaryA.final)")
        try GraphTrainingTests.expectTwoRanksEqualOne(twoFiles, metrics: ["loss", "accuracy"])

        // Predictions need the input's file too, rows aligned with the data file's.
        let run = folder.url.appendingPathComponent("run")
        _ = try TrainingRun(config: twoFiles, runDirectory: run.path).run()
        let predictor = try Predictor(path: run.path)
        let predicted = try predictor.predict(csv: left.path, inputFiles: ["right": right.path])
        let reference = try predictor.predict(features: try Self.rawDigits())
        #expect(predicted.outputs == reference.outputs)
        let missing = try ChildProcess.flock(["predict", run.path, "--data", left.path])
        #expect(missing.status != 0 && missing.standardError.contains("input: input 'right' reads a file of its own: pass --input right=FILE"), "\(missing.output)")
        let given = try ChildProcess.flock(["predict", run.path, "--data", left.path, "--input", "right=\(right.path)"])
        #expect(given.status == 0 && given.standardError.contains("1797 rows"), "\(given.output)")
    }

    /// The digits' 64 pixel columns, as the model's two inputs read them.
    static func rawDigits() throws -> Tensor {
        try CSVReader(labelColumn: .name("label")).read(path: ChildProcess.digitsCSV).features
    }

    @Test func badInputFilesNameTheFileAndTheField() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (left, right) = try Self.split(folder, dropLast: true)
        func message(_ config: () throws -> TrainingConfig) -> String {
            do { _ = try Trainer(config: try config()); return "no error" } catch { return "\(error)" }
        }
        let short = message { try Self.config(data: left.path, source: right.path) }
        #expect(short.contains("\(right.path)") && short.contains("input 'right' reads 1796 rows here but \(left.path) has 1797"), "\(short)")
        let early = message {
            try ConfigLoader.decode(yaml: """
                data: {source: \(left.path), label_column: label}
                model:
                  inputs: [{name: right, shape: [32], source: \(right.path)}, {name: left, shape: [32]}]
                  nodes: [{name: both, inputs: [left, right], op: concatenate, layers: [{type: dense, units: 10}]}]
                  outputs: [both]
                loss: cross_entropy
                """, baseDirectory: "/")
        }
        #expect(early.hasPrefix("model.inputs[1]: an input read from the data file comes after 'right', which has a source"), "\(early)")
        let streamed = message { try Self.config(data: left.path, source: right.path, ["data.streaming=true"]) }
        #expect(streamed.hasPrefix("data.streaming: input 'right' reads a file of its own"), "\(streamed)")
    }
}
