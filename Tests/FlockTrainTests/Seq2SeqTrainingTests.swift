import FlockComm
import FlockNN
import FlockParallel
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `examples/seq2seq-reverse.yaml` trained end to end: two ranks train what one trains (the
/// sequence cross-entropy is the mean over every rank's real tokens), and pipeline and
/// tensor parallelism refuse the graph naming the decoder node.
@Suite struct Seq2SeqTrainingTests {
    /// The example on the first 400 rows of its data (five steps of 64 in an epoch).
    static func config(_ overrides: [String] = []) throws -> TrainingConfig {
        let data = ChildProcess.repositoryRoot.appendingPathComponent("examples/data/reverse.csv")
        let lines = try String(contentsOf: data, encoding: .utf8).split(separator: "\n").prefix(401)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("reverse-\(UUID().uuidString).csv")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return try LossTermsTests.example("seq2seq-reverse.yaml", ["epochs=1", "data.source=\(url.path)"] + overrides)
    }

    /// With SGD: the attention's key biases have a gradient of zero in exact arithmetic
    /// (softmax ignores a constant added to a row of scores), so what they get is rounding,
    /// which differs with the rank count; Adam divides it by its own size and moves them by
    /// the learning rate (seen: relative difference 7.6e-5 under Adam, all of it in
    /// `*.key.bias`; 2.4e-8 under SGD, on the whole file).
    @Test func twoRanksEqualOneRankAndReportTheLossOverBoth() throws {
        try GraphTrainingTests.expectTwoRanksEqualOne(try Self.config(["optimizer.name=sgd", "optimizer.lr=0.1"]), trained: 1e-3)
    }

    @Test(arguments: ["parallel.pipeline=2", "parallel.tensor=2"])
    func modelParallelismRefusesTheGraphNamingTheDecoder(split: String) throws {
        let config = try Self.config([split])
        var error: (any Error)?
        do {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 60) { comm in _ = try Trainer(config: config, communicator: comm); return 0 }
        } catch let thrown { error = thrown }
        #expect("\(error.map { "\($0)" } ?? "no error")".contains("model node 'decoder' cannot be split (it attends to encoder)"),
                "\(String(describing: error))")
    }

    /// `Predictor.decode` on held-out rows: its exact match is the share of rows whose
    /// decoded ids are the target's digits (read from the file here), and a model without a
    /// decoder is refused naming why.
    @Test func decodingReportsTheShareOfRowsDecodedExactly() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        // Three epochs of the whole file: some rows decode right (0.38 greedy), some wrong.
        _ = try TrainingRun(config: try LossTermsTests.example("seq2seq-reverse.yaml", ["epochs=3"]), runDirectory: run.path).run()
        let test = ChildProcess.repositoryRoot.appendingPathComponent("examples/data/reverse-test.csv")
        let rows = try String(contentsOf: test, encoding: .utf8).split(separator: "\n").dropFirst().prefix(40)
            .map { $0.split(separator: ",").map { Int($0)! } }
        let subset = folder.url.appendingPathComponent("test.csv")
        let header = try String(contentsOf: test, encoding: .utf8).split(separator: "\n")[0]
        try ([String(header)] + rows.map { $0.map(String.init).joined(separator: ",") }).joined(separator: "\n").write(to: subset, atomically: true, encoding: .utf8)
        let predictor = try Predictor(path: run.path)
        for beam in [1, 3] {
            let result = try predictor.decode(csv: subset.path, decoding: .init(beam: beam, endToken: 2))
            // The target's digits: columns t0..t8 (18..<27) before the end token 2.
            let expected = rows.map { row in Array(row[18..<27].prefix { $0 != 2 }).map(String.init).joined(separator: " ") }
            let exact = Double(zip(result.labels, expected).filter { $0 == $1 }.count) / Double(rows.count)
            #expect(result.labels.count == rows.count)
            #expect(abs(result.metrics!["exact_match"]! - exact) < 1e-12, "beam \(beam): \(result.metrics!) against \(exact)")
            #expect(exact > 0.1 && exact < 0.9, "beam \(beam): \(exact)")
        }
        let classifier = try PredictTests.train(PredictTests.digitsConfig, in: folder, name: "digits")
        #expect {
            _ = try Predictor(path: classifier.path).decode(csv: ChildProcess.digitsCSV, decoding: .init(beam: 2, endToken: 2))
        } throws: { "\($0)".contains("beam: decoding needs a graph model") }
    }
}
