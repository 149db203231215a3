import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// The graph examples that once were only seen to train at `zero: 3` — the GAN (two
/// phases, each with its own Adam, the critic's layers used twice), the denoising
/// autoencoder (an output the loss does not read) and the Siamese triplets (one encoder
/// used three times) — train zero 0's weights to 1e-5 on 2 ranks as threads. Each runs
/// a few steps (3 to 6): the examples' models on a tenth of their data.
@Suite(.hangLimit) struct ZeroThreeExampleGraphTests {
    static func example(_ name: String, zero: Int, _ overrides: [String] = []) throws -> TrainingConfig {
        try LossTermsTests.example(name, ["epochs=1", "data.validation_split=0.9", "parallel.zero=\(zero)"] + overrides)
    }

    /// Zero 3's whole model is zero 0's, and training moved it from where it started.
    static func expectZeroThreeTrainsAsZeroZero(_ name: String, _ overrides: [String] = [], ranks: Int = 2) throws {
        let plain = try ZeroThreeFixture.train(Self.example(name, zero: 0, overrides), ranks: ranks)
        let sharded = try ZeroThreeFixture.train(Self.example(name, zero: 3, overrides), ranks: ranks)
        let initial = try Trainer(config: Self.example(name, zero: 0, overrides)).parameters.snapshotState()
        #expect(ZeroTests.close(sharded.model, plain.model), "\(name)")
        #expect(DataParallelTests.relativeDifference(plain.model, initial) > 1e-3, "\(name): nothing trained")
    }

    /// The discriminator's phase with the example's Adam, the generator's with one of its
    /// own (other betas than a copy of the example's would have): both phases' rows of
    /// both optimizers.
    @Test func theGANsPhasesTrainAtZeroThreeAsAtZeroZero() throws {
        try Self.expectZeroThreeTrainsAsZeroZero("gan-digits.yaml", [Self.ownGeneratorOptimizer])
    }

    static let ownGeneratorOptimizer = "phases[1].optimizer={name: adam, lr: 0.001, beta1: 0.8, beta2: 0.99}"

    /// A last batch of 1 or 2 samples on 4 ranks: in the generator's phase the loss does not
    /// read the critic's score of real images, and the ranks with samples still gather the
    /// critic's rows for that use on the way back, as the ranks without samples do.
    @Test func theGANTrainsAtZeroThreeWithRanksWithoutSamples() throws {
        let split = "data.validation_split=0.899"
        let samples = try Trainer(config: Self.example("gan-digits.yaml", zero: 0, [split])).data.training.count
        try #require(samples % 4 == 1 || samples % 4 == 2, "\(samples) training samples")
        try Self.expectZeroThreeTrainsAsZeroZero("gan-digits.yaml", [split, "data.batch_size=\(samples / 4 * 4)", Self.ownGeneratorOptimizer],
                                                 ranks: 4)
    }

    @Test func theAutoencoderTrainsAtZeroThreeAsAtZeroZero() throws {
        try Self.expectZeroThreeTrainsAsZeroZero("autoencoder-digits.yaml")
    }

    /// Batches of 32 (4 steps on a tenth of the digits 0-6).
    @Test func theSiameseTripletsTrainAtZeroThreeAsAtZeroZero() throws {
        try Self.expectZeroThreeTrainsAsZeroZero("siamese-triplets-digits.yaml", ["data.batch_size=32"])
    }
}
