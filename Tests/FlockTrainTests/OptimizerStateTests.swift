import FlockNN
import FlockTestSupport
import Testing
@testable import FlockTrain

/// Restored optimizer state that does not fit is an error, never a silent fresh start.
@Suite struct OptimizerStateTests {
    @Test func aStateMissingOneOfAdamsBuffersIsRefused() {
        var adam = Adam()
        let error = #expect(throws: OptimizerStateError.self) {
            try adam.restore(stateBuffers: ["first_moment": [0.1, 0.2]], stepCount: 3)
        }
        #expect(error?.description == "optimizer state has first_moment but no second_moment, which Adam needs")
    }

    @Test func aBufferOfTheWrongSizeNamesItselfAndTheCounts() throws {
        let trainer = try LibraryTrainerTests.trainer(try LibraryTrainerTests.data(), epochs: 1)
        let count = trainer.parameters.count
        let error = #expect(throws: OptimizerStateError.self) {
            try trainer.restoreOptimizerState(["first_moment": [Float](repeating: 0, count: count),
                                               "second_moment": [Float](repeating: 0, count: count - 1)], stepCount: 1)
        }
        #expect(error?.description == "second_moment has \(count - 1) values, this rank trains \(count) parameters")
        // A state that fits restores.
        try trainer.restoreOptimizerState(["first_moment": [Float](repeating: 0.5, count: count),
                                           "second_moment": [Float](repeating: 1, count: count)], stepCount: 4)
        #expect(trainer.optimizer.stepCount == 4 && trainer.optimizerState["first_moment"]?.first == 0.5)
    }
}
