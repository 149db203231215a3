import FlockComm
import FlockData
import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Generated pairs and triplets (`data.pairs`, `data.triplets`) end to end: partners from
/// the anchor's own split with the label promised, two ranks training what one does, an
/// exact resume, predictions, and errors that name the field.
@Suite struct GeneratedPartnersTests {
    static func pairs(_ overrides: [String] = []) throws -> TrainingConfig {
        try LossTermsTests.example("siamese-pairs-digits.yaml", ["epochs=1"] + overrides)
    }

    /// Triplets of the digits of classes 0–6, a shared encoder, the three embeddings side by
    /// side for the triplet loss without mining.
    static func triplets(_ overrides: [String] = []) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 5
            epochs: 1
            data: {source: \(heldOutDigits), label_column: label, batch_size: 64, triplets: {}}
            model:
              inputs: [{name: anchor, shape: [64]}, {name: positive, shape: [64]}, {name: negative, shape: [64]}]
              nodes:
                - {name: embedding, inputs: [anchor], layers: [{type: dense, units: 32, activation: relu}, {type: dense, units: 8}]}
                - {name: positive_embedding, inputs: [positive], shares: embedding}
                - {name: negative_embedding, inputs: [negative], shares: embedding}
                - {name: triplet, inputs: [embedding, positive_embedding, negative_embedding], op: concatenate}
              outputs: [triplet, embedding]
            loss: {name: triplet, margin: 1, mining: none}
            optimizer: {name: sgd, lr: 0.05}
            """, overrides: overrides, baseDirectory: "/")
    }

    static let heldOutDigits = ChildProcess.repositoryRoot.appendingPathComponent("examples/data/digits-0to6.csv").path

    /// The split's rows (normalized) and labels, to find a partner row by its values.
    static func rows(of split: any SampleSource) throws -> [[Float]: Float] {
        let base = try #require(split as? PartneredSamples).base
        let width = base.featureShape.reduce(1, *)
        var labels: [[Float]: Float] = [:]
        for row in 0..<base.count { labels[Array(base.features.scalars[(row * width)..<((row + 1) * width)])] = base.targets.scalars[row] }
        return labels
    }

    @Test func pairsComeFromTheAnchorsSplitWithTheFlagOfTheirLabels() throws {
        let trainer = try Trainer(config: try Self.pairs())
        for (split, name) in [(trainer.data.training, "training"), (trainer.data.validation, "validation")] {
            let labels = try Self.rows(of: split)
            let batch = try split.batch(Array(0..<split.count), epoch: 2)
            #expect(batch.features.shape == [split.count, 128])
            var same = 0
            for row in 0..<split.count {
                let anchor = Array(batch.features.scalars[(row * 128)..<(row * 128 + 64)])
                let partner = Array(batch.features.scalars[(row * 128 + 64)..<(row * 128 + 128)])
                let (anchorLabel, partnerLabel) = (try #require(labels[anchor]), try #require(labels[partner], "\(name) row \(row)'s partner is not of the \(name) split"))
                #expect(batch.targets.scalars[row] == (anchorLabel == partnerLabel ? 1 : 0), "\(name) row \(row)")
                #expect(anchor != partner, "\(name) row \(row) is paired with itself")
                same += anchorLabel == partnerLabel ? 1 : 0
            }
            #expect(abs(Double(same) / Double(split.count) - 0.5) < 0.1, "\(name): \(same) of \(split.count) pairs same")
        }
        #expect(trainer.data.preprocessing.featureShape == [128] && trainer.data.classCount == 2)
        #expect(trainer.data.preprocessing.featureColumns?.count == 128 && trainer.data.preprocessing.featureColumns?[64] == "right.p0")
    }

    /// The draws are keyed by (seed, epoch, sample): two ranks train the model one rank
    /// trains. With SGD: Adam's first steps move every weight by about ±lr whatever its
    /// gradient's size, which grows two ranks' rounding differences (see SiameseTrainingTests).
    @Test func pairsAndTripletsOnTwoRanksEqualOneRank() throws {
        try GraphTrainingTests.expectTwoRanksEqualOne(try Self.pairs(["optimizer={name: sgd, lr: 0.05}"]), trained: 1e-3, metrics: ["loss", "val_loss"])
        let triplets = try LossTermsTests.example("siamese-triplets-digits.yaml", ["epochs=1", "optimizer={name: sgd, lr: 0.05}"])
        try GraphTrainingTests.expectTwoRanksEqualOne(triplets, trained: 1e-3, metrics: ["loss", "val_loss"])
    }

    /// An epoch's partners are a function of the epoch: a run resumed after epoch 1 ends as
    /// the uninterrupted one does, bit for bit.
    @Test func aResumedRunDrawsThePartnersAnUninterruptedOneDraws() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (whole, resumed) = (folder.url.appendingPathComponent("whole"), folder.url.appendingPathComponent("resumed"))
        let constant = ["schedule={name: constant}"]
        _ = try TrainingRun(config: try Self.pairs(constant + ["epochs=2"]), runDirectory: whole.path).run()
        _ = try TrainingRun(config: try Self.pairs(constant), runDirectory: resumed.path).run()
        _ = try TrainingRun(config: try Self.pairs(constant + ["epochs=2"]), runDirectory: resumed.path, resume: true).run()
        let (a, b) = (try Data(contentsOf: whole.appendingPathComponent("model.safetensors")),
                      try Data(contentsOf: resumed.appendingPathComponent("model.safetensors")))
        #expect(a == b, "the resumed run's weights differ")
    }

    /// Killed after a checkpoint in the middle of epoch 1 and resumed, a run on generated
    /// pairs ends byte-identical to an uninterrupted one: an anchor's partner depends on
    /// (seed, epoch, anchor) only, nothing a process holds.
    @Test func killedMidEpochAndResumedItEndsByteIdentical() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let example = try String(contentsOf: ChildProcess.repositoryRoot.appendingPathComponent("examples/siamese-pairs-digits.yaml"), encoding: .utf8)
        let config = try folder.write("pairs.yaml", example.replacingOccurrences(of: "source: data/", with: "source: \(ChildProcess.repositoryRoot.path)/examples/data/")
            .replacingOccurrences(of: "epochs: 40", with: "epochs: 3") + "callbacks: {model_checkpoint: {every_n_steps: 3}}\n").path
        try MidEpochResumeTests().expectKilledMidEpochResumesAsUninterrupted(config: config, in: folder)
    }

    /// The loss without mining is the mean over rows of max(0, ‖a − p‖ − ‖a − n‖ + margin),
    /// computed here by hand from the model's three embeddings.
    @Test func theTripletLossWithoutMiningIsTheMeanHingeOverTheGivenTriplets() throws {
        let trainer = try Trainer(config: try Self.triplets(["model.nodes[0].layers[1].units=2"]))
        let batch = try trainer.data.training.batch(Array(0..<40), epoch: 0)
        let tape = Tape(parameters: trainer.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let output = trainer.model.forwardOutputs(tape.constant(batch.features), context: &context)["triplet"]!
        let e = output.value.scalars.map(Double.init)
        #expect(output.shape == [40, 6])
        func distance(_ row: Int, _ first: Int, _ second: Int) -> Double {
            (0..<2).map { pow(e[row * 6 + first * 2 + $0] - e[row * 6 + second * 2 + $0], 2) }.reduce(0, +).squareRoot()
        }
        let expected = (0..<40).map { max(0, distance($0, 0, 1) - distance($0, 0, 2) + 1) }.reduce(0, +) / 40
        let loss = trainer.loss(["triplet": tape.constant(output.value)], target: batch.targets, inputs: [:]).value.scalar
        #expect(abs(Double(loss) - expected) < 1e-5 * max(expected, 1), "loss \(loss), by hand \(expected)")
        #expect(expected > 0.1, "the hinge is active at the start")
    }

    /// Predictions read each row as the anchor; a partner comes from `--input NAME=FILE`
    /// (rows aligned) or is the row itself.
    @Test func predictionsPairEachRowWithItsGivenPartnerOrItself() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        _ = try TrainingRun(config: try Self.pairs(), runDirectory: run.path).run()
        let predictor = try Predictor(path: run.path)
        let digits = ChildProcess.repositoryRoot.appendingPathComponent("examples/data/digits-789.csv").path
        let lines = try String(contentsOfFile: digits, encoding: .utf8).split(separator: "\n")
        let shifted = try folder.write("shifted.csv", ([lines[0]] + lines[2...] + [lines[1]]).joined(separator: "\n") + "\n").path
        let raw = try CSVReader(labelColumn: .name("label")).read(path: digits).features
        let count = raw.shape[0]
        let partners = Tensor(shape: [count, 64], scalars: Array(raw.scalars[64...]) + raw.scalars[..<64])
        let joined = Tensor(shape: [count, 128], scalars: (0..<count).flatMap { Array(raw.rows($0..<($0 + 1)).scalars) + partners.rows($0..<($0 + 1)).scalars })
        let given = try predictor.predict(csv: digits, inputFiles: ["right": shifted])
        #expect(given.outputs == (try predictor.predict(features: joined)).outputs)
        #expect(given.metrics == nil, "a row's label is not its pair's flag")
        let alone = try predictor.predict(csv: digits)
        #expect(alone.outputs.scalars.allSatisfy { $0 < 1e-5 }, "a row paired with itself is at distance 0")
        let embedded = try ChildProcess.flock(["predict", run.path, "--data", digits, "--model-output", "embedding"])
        #expect(embedded.status == 0 && embedded.standardError.contains("\(count) rows"), "\(embedded.output)")
        let stray = try ChildProcess.flock(["predict", run.path, "--data", digits, "--input", "left=\(shifted)"])
        #expect(stray.status != 0 && stray.standardError.contains("unknown input 'left' (inputs read from a file of their own: right)"), "\(stray.output)")
        let short = try folder.write("short.csv", lines.dropLast().joined(separator: "\n") + "\n").path
        let misaligned = try ChildProcess.flock(["predict", run.path, "--data", digits, "--input", "right=\(short)"])
        #expect(misaligned.status != 0 && misaligned.standardError.contains("input 'right' reads \(count - 1) rows here but \(digits) has \(count)"),
                "\(misaligned.output)")
    }

    /// Pairs from IDX files as MNIST ships them: training reads the labels file, and
    /// `flock predict` pairs each sample with itself (no `--input` beside IDX data).
    @Test func pairsFromIDXFilesTrainAndPredict() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let digits = try CSVReader(labelColumn: .name("label")).read(path: Self.heldOutDigits)
        let count = digits.count
        func idx(_ name: String, type: UInt8, shape: [Int], _ values: [Float]) throws -> String {
            var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
            for size in shape { bytes += withUnsafeBytes(of: UInt32(size).bigEndian) { Array($0) } }
            let url = folder.url.appendingPathComponent(name)
            try Data(bytes + values.map { UInt8($0) }).write(to: url)
            return url.path
        }
        let images = try idx("images-idx3-ubyte", type: 0x08, shape: [count, 8, 8], digits.features.scalars)
        let labels = try idx("labels-idx1-ubyte", type: 0x08, shape: [count], digits.targets.scalars)
        let run = folder.url.appendingPathComponent("run")
        let config = try Self.pairs(["data={source: \(images), labels: \(labels), batch_size: 128, pairs: {}}"])
        _ = try TrainingRun(config: config, runDirectory: run.path).run()
        let predicted = try ChildProcess.flock(["predict", run.path, "--data", images, "--model-output", "embedding"])
        #expect(predicted.status == 0 && predicted.standardError.contains("\(count) rows"), "\(predicted.output)")
        let refused = try ChildProcess.flock(["predict", run.path, "--data", images, "--input", "right=\(images)"])
        #expect(refused.status != 0 && refused.standardError.contains("--input is for CSV data"), "\(refused.output)")
    }

    /// What a run's `config.yaml` says decodes to the config that ran.
    @Test func partnerConfigsRoundTrip() throws {
        for config in [try Self.pairs(["data.pairs={inputs: [left, right], positive_fraction: 0.3}"]), try Self.triplets(),
                       try LossTermsTests.example("siamese-triplets-digits.yaml", [])] {
            let again = try ConfigLoader.decode(yaml: try ConfigLoader.yaml(of: config), baseDirectory: "/")
            #expect(again == config)
            #expect(again.data.pairs?.positiveFraction ?? 0.3 == 0.3 && (again.data.pairs != nil) != (again.data.triplets != nil))
        }
    }

    @Test func badPartnerConfigsNameTheField() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Class 2 has one row: no positive partner for it.
        let lonely = try folder.write("lonely.csv", "a,b,label\n" + (0..<12).map { "\($0),\($0 % 5),\($0 == 11 ? 2 : $0 % 2)" }.joined(separator: "\n") + "\n").path
        func message(_ overrides: [String], example: Bool = true) -> String {
            do { _ = try Trainer(config: try (example ? Self.pairs(overrides) : Self.triplets(overrides))); return "no error" } catch { return "\(error)" }
        }
        let cases: [([String], Bool, String)] = [
            (["data.pairs.positive_fraction=1.5"], true, "data.pairs.positive_fraction: expected a number in [0, 1], got 1.5"),
            (["data.pairs.inputs=[left]"], true, "data.pairs.inputs: expected 2 distinct input names, got [\"left\"]"),
            (["data.pairs.inputs=[a, b]"], true, "model.inputs: data.pairs feeds inputs a, b (in this order) but the graph reads left, right"),
            (["data.triplets={}"], true, "data.triplets: give data.pairs or data.triplets, not both"),
            (["data.streaming=true"], true, "data.streaming: data.pairs draws partners from anywhere in the split"),
            (["data.shape=[1, 8, 8]"], true, "data.shape: data.pairs keeps the feature rows flat"),
            (["model.inputs[1].shape=[32]"], true, "model.inputs[1].shape: input 'right' holds one sample of"),
            (["data.validation_split=0", "data.source=\(lonely)", "model.inputs[0].shape=[2]", "model.inputs[1].shape=[2]"], true,
             "data.pairs: the training split of \(lonely) cannot give every anchor its partners: class 2 has a single sample"),
            (["model.inputs[1]={name: right, from: labels, shape: [7]}"], true, "model.inputs[1]: input 'right' reads the labels; with data.pairs the graph's inputs are the anchor and its partners only"),
            (["data.triplets.inputs=[anchor, negative, positive]"], false, "model.inputs: data.triplets feeds inputs anchor, negative, positive (in this order) but the graph reads anchor, positive, negative"),
            (["model.nodes[3].inputs=[embedding, positive_embedding]"], false, "loss.output: triplet with mining: none reads each row as three embeddings side by side"),
        ]
        for (overrides, example, expected) in cases {
            let got = message(overrides, example: example)
            #expect(got.hasPrefix(expected), "\(overrides): \(got)")
        }
        let noGraph = message(["model=[{type: dense, units: 4}]"])
        #expect(noGraph.hasPrefix("data.pairs: generated partners feed a graph's named inputs (left, right)"), "\(noGraph)")
    }
}
