import FlockComm
import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// The triplet example end to end: its triplets are mined over the global batch, so two
/// ranks train the model one rank trains.
@Suite struct SiameseTrainingTests {
    /// One epoch of 8 steps of 128 (the last split unevenly over two ranks, 58 and 57
    /// rows), with SGD: Adam's first steps move every weight by about ±lr whatever its
    /// gradient's size, so the float-rounding differences of two ranks' sums in the many
    /// near-zero gradients of a triplet loss grow to 1e-4 (seen: 3e-5 after one Adam step,
    /// 1e-7 with SGD). The validation loss is left out: evaluation mines triplets within
    /// each rank's chunk of the validation split.
    @Test func theSiameseExampleOnTwoRanksEqualsOneRankAndReportsTheTrainingLossOverBoth() throws {
        let config = try LossTermsTests.example("siamese-digits.yaml", ["epochs=1", "optimizer={name: sgd, lr: 0.05}"])
        let summary = try GraphTrainingTests.expectTwoRanksEqualOne(config, trained: 1e-3)
        #expect(Set(summary.final.keys) == ["loss", "val_loss"], "no metric compares embeddings with labels: \(summary.final.keys.sorted())")
    }

    @Test func aTripletLossReadsLabelsAsClassesAndTakesEmbeddingsOfAnyWidth() throws {
        let trainer = try Trainer(config: try LossTermsTests.example("siamese-digits.yaml", ["epochs=1", "model[2].units=5"]))
        #expect(trainer.data.classCount == 7)
        #expect(trainer.data.training.targets.scalars.allSatisfy { $0 == $0.rounded() && $0 >= 0 && $0 < 7 })
    }
}
