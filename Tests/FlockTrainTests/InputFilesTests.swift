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

    /// The digits' columns 32–63 as an IDX file of unsigned bytes, (rows, 4, 8) as MNIST
    /// ships images (`dropLast`: one row fewer).
    static func rightAsIDX(_ folder: TemporaryFolder, name: String, dropLast: Bool = false) throws -> URL {
        let pixels = try Self.rawDigits()
        let rows = pixels.shape[0] - (dropLast ? 1 : 0)
        var bytes: [UInt8] = [0, 0, 0x08, 3]
        for size in [UInt32(rows), 4, 8] { bytes += withUnsafeBytes(of: size.bigEndian) { Array($0) } }
        for row in 0..<rows { bytes += pixels.scalars[(row * 64 + 32)..<(row * 64 + 64)].map { UInt8($0) } }
        let url = folder.url.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// An input from an IDX file trains as the same values from a CSV file do, predicts
    /// with `--input NAME=FILE.idx`, and a file of other rows or width is named with both
    /// counts.
    @Test func anInputFromAnIDXFileTrainsAsFromACSVFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (left, right) = try Self.split(folder)
        let idx = try Self.rightAsIDX(folder, name: "right-idx3-ubyte")
        let (fromCSV, fromIDX) = (try Trainer(config: try Self.config(data: left.path, source: right.path)),
                                  try Trainer(config: try Self.config(data: left.path, source: idx.path)))
        let (summaryCSV, summaryIDX) = (try fromCSV.fit(), try fromIDX.fit())
        #expect(fromCSV.parameters.snapshotParameters() == fromIDX.parameters.snapshotParameters())
        #expect(summaryCSV.final == summaryIDX.final)
        #expect(fromIDX.data.preprocessing.featureColumns?.last == "right.31")

        let run = folder.url.appendingPathComponent("run")
        _ = try TrainingRun(config: try Self.config(data: left.path, source: idx.path), runDirectory: run.path).run()
        let predictor = try Predictor(path: run.path)
        let reference = try predictor.predict(features: try Self.rawDigits())
        #expect(try predictor.predict(csv: left.path, inputFiles: ["right": idx.path]).outputs == reference.outputs)
        #expect(try predictor.predict(csv: left.path, inputFiles: ["right": right.path]).outputs == reference.outputs)
        let short = try Self.rightAsIDX(folder, name: "short.idx", dropLast: true)
        let given = try ChildProcess.flock(["predict", run.path, "--data", left.path, "--input", "right=\(short.path)"])
        #expect(given.status != 0 && given.standardError.contains("\(short.path): cannot read: input 'right' reads 1796 rows here but \(left.path) has 1797: the rows must align"),
                "\(given.output)")
        let wide = try Self.config(data: left.path, source: idx.path, ["model.inputs[0].shape=[16]", "model.inputs[1].shape=[48]"])
        let error = #expect(throws: DataError.self) { _ = try Trainer(config: wide) }
        #expect(error?.description.contains("\(idx.path): cannot read: input 'right' has shape of 48 values but this file has 32 values per sample") == true,
                "\(String(describing: error))")
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
