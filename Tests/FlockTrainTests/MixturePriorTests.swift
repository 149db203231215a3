import FlockData
import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `flock generate --prior mixture:K`: codes of the training split, a mixture fitted to
/// them, its draws decoded; and the errors for a bad prior.
@Suite struct MixturePriorTests {
    /// A one-epoch VAE (`GraphTrainingTests.vae`, seed 3, validation split 0.2) in `folder`.
    static func trainedVAE(in folder: TemporaryFolder) throws -> String {
        let run = folder.url.appendingPathComponent("vae").path
        _ = try TrainingRun(config: try GraphTrainingTests.vae(), runDirectory: run).run()
        return run
    }

    /// By hand: the digits split as training splits them (fraction 0.2, the config's seed),
    /// normalized by the checkpoint, through the encoder; a sampling layer gives μ, the
    /// first half of the encoder's 8 outputs.
    @Test func theTrainingCodesAreTheEncodersMeansOnTheTrainingSplit() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let predictor = try Predictor(path: try Self.trainedVAE(in: folder))
        let codes = try predictor.trainingCodes(latent: "code")
        let all = try CSVReader(labelColumn: .name("label")).read(path: ChildProcess.digitsCSV)
        let training = all.split(validationFraction: 0.2, seed: 3).training
        #expect(codes.shape == [training.count, 4] && training.count == 1438)
        let tape = Tape(parameters: predictor.model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let normalized = predictor.preprocessing.normalizer.apply(training.features)
        let encoded = predictor.model.graph!.blocks["encoder"]!.forward(tape.constant(normalized), context: &context).value
        let means = (0..<training.count).flatMap { row in encoded.scalars[(row * 8)..<(row * 8 + 4)] }
        #expect(zip(codes.scalars, means).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// By hand: the mixture fitted to the training codes from the seed, drawn from the
    /// seed's stream 1, through the decoder, normalization undone.
    @Test func aMixturePriorDecodesDrawsOfTheMixtureFittedToTheTrainingCodes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let predictor = try Predictor(path: try Self.trainedVAE(in: folder))
        let samples = try predictor.generate(samples: 6, seed: 4, prior: .mixture(components: 3))
        let mixture = try GaussianMixture.fit(try predictor.trainingCodes(latent: "code"), components: 3, seed: 4)
        var generator = RandomGenerator(seed: 4, stream: 1)
        let z = mixture.sample(count: 6, using: &generator)
        let tape = Tape(parameters: predictor.model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let decoded = predictor.model.graph!.blocks["decoder"]!.forward(tape.constant(z), context: &context).value
        #expect(samples == predictor.preprocessing.normalizer.inverse(decoded))
        #expect(try predictor.generate(samples: 6, seed: 4, prior: .mixture(components: 3)) == samples)
        #expect(try predictor.generate(samples: 6, seed: 5, prior: .mixture(components: 3)) != samples)
        #expect(try predictor.generate(samples: 6, seed: 4) != samples)
        #expect(throws: ConfigError(path: "prior", "mixture:1500 needs at least 1500 codes to fit; the training split gives 1438")) {
            try predictor.generate(samples: 2, prior: .mixture(components: 1500))
        }
    }

    @Test func thePriorIsNormalOrMixtureWithOneToAThousandComponents() throws {
        #expect(try LatentPrior(parsing: "normal") == .standardNormal)
        #expect(try LatentPrior(parsing: "mixture:10") == .mixture(components: 10))
        #expect(LatentPrior.mixture(components: 10).description == "mixture:10")
        for (text, message) in [("mixture:0", "mixture:K needs K from 1 to 1000, got '0'"),
                                ("mixture:1001", "mixture:K needs K from 1 to 1000, got '1001'"),
                                ("mixture:", "mixture:K needs K from 1 to 1000, got ''"),
                                ("gauss", "expected 'normal' or 'mixture:K' (K components, 1 to 1000), got 'gauss'")] {
            #expect(throws: ConfigError(path: "prior", message)) { try LatentPrior(parsing: text) }
        }
    }

    @Test func theCommandNamesABadPriorAndWritesNoFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.trainedVAE(in: folder)
        let out = folder.url.appendingPathComponent("samples.csv")
        let refused = try ChildProcess.flock(["generate", run, "--prior", "mixture:x", "--output", out.path])
        #expect(refused.status != 0 && refused.standardError.contains("prior: mixture:K needs K from 1 to 1000, got 'x'"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let drawn = try ChildProcess.flock(["generate", run, "--prior", "mixture:2", "--samples", "3", "--output", out.path])
        #expect(drawn.status == 0, "\(drawn.output)")
        #expect(try String(contentsOf: out, encoding: .utf8).split(separator: "\n").count == 4)
    }

    /// A GAN's latent_noise node has no codes of the data to fit.
    @Test func aLatentNoiseNodeIsRefusedWithItsName() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("gan").path
        _ = try TrainingRun(config: try GANTrainingTests.gan(), runDirectory: run).run()
        let predictor = try Predictor(path: run)
        #expect(throws: ConfigError(path: "prior", "node 'z' ends in a latent_noise layer: its values are noise, not codes of the data, so there is nothing to fit (use the normal prior)")) {
            try predictor.generate(samples: 2, condition: "3", prior: .mixture(components: 2))
        }
    }
}
