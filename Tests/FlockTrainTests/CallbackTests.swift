import FlockTestSupport
import Testing
@testable import FlockTrain

/// Each callback, epoch by epoch, on scripted metric sequences.
@Suite struct CallbackTests {
    /// Feeds `values` of `monitor` and returns (epoch stopped at or nil, epochs whose weights were captured).
    func run(_ callback: EarlyStopping, _ values: [Double]) -> (stopped: Int?, captured: [Int], callback: EarlyStopping) {
        var callback = callback
        var captured: [Int] = []
        for (epoch, value) in values.enumerated() {
            let decision = callback.epochEnded(epoch, metrics: [callback.monitor: value])
            if decision.captureWeights { captured.append(epoch) }
            if decision.stop { return (epoch, captured, callback) }
        }
        return (nil, captured, callback)
    }

    @Test func earlyStoppingWaitsPatienceEpochsWithoutImprovement() {
        let outcome = run(EarlyStopping(patience: 2), [1.0, 0.8, 0.85, 0.9, 0.7])
        #expect(outcome.stopped == 3)
        #expect(outcome.callback.state.best == 0.8 && outcome.callback.state.bestEpoch == 1)
    }

    @Test func minDeltaMakesSmallGainsCountAsNone() {
        // 0.95 beats 1.0 by 0.05 < 0.1: no improvement.
        #expect(run(EarlyStopping(minDelta: 0.1, patience: 1), [1.0, 0.95, 0.99]).stopped == 1)
        #expect(run(EarlyStopping(minDelta: 0.01, patience: 1), [1.0, 0.95, 0.9, 0.85]).stopped == nil)
    }

    @Test func autoModeMaximisesAccuracy() {
        let outcome = run(EarlyStopping(monitor: "val_accuracy", patience: 1), [0.5, 0.6, 0.55, 0.7])
        #expect(outcome.stopped == 2)
        #expect(run(EarlyStopping(monitor: "val_loss", patience: 1, mode: .max), [0.5, 0.6, 0.55]).stopped == 2)
    }

    @Test func baselineMustBeBeatenToResetTheWait() {
        // Improvements above the baseline 0.5 do not reset the wait, so the first epoch
        // without improvement (epoch 3, wait 4) stops it; without a baseline it would not.
        let outcome = run(EarlyStopping(patience: 2, baseline: 0.5), [1.0, 0.9, 0.8, 0.85])
        #expect(outcome.stopped == 3)
        #expect(run(EarlyStopping(patience: 2), [1.0, 0.9, 0.8, 0.85]).stopped == nil)
        #expect(run(EarlyStopping(patience: 2, baseline: 0.5), [1.0, 0.4, 0.45, 0.42]).stopped == 3)
    }

    @Test func startFromEpochIgnoresWarmUp() {
        let outcome = run(EarlyStopping(patience: 1, startFromEpoch: 2), [0.1, 0.9, 1.0, 0.8, 0.95])
        // Epochs 0–1 are ignored, so 1.0 at epoch 2 is the first best.
        #expect(outcome.stopped == 4)
        #expect(outcome.callback.state.bestEpoch == 3)
    }

    @Test func restoreBestWeightsCapturesEveryImprovementEvenWithoutStopping() {
        let outcome = run(EarlyStopping(patience: 10, restoreBestWeights: true), [1.0, 0.7, 0.9, 0.6, 0.8])
        #expect(outcome.stopped == nil)
        #expect(outcome.captured == [0, 1, 3])
        #expect(outcome.callback.state.bestEpoch == 3)
    }

    @Test func reduceLROnPlateauWithCooldownAndFloor() {
        var plateau = ReduceLROnPlateau(factor: 0.5, patience: 2, minDelta: 0, cooldown: 1, minLR: 0.02)
        var lr = 0.1
        var history: [Double] = []
        for value in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] {
            if let reduced = plateau.epochEnded(metrics: ["val_loss": value], learningRate: lr) { lr = reduced }
            history.append(lr)
        }
        // Epoch 0 sets the best; epochs 1–2 without improvement → ×0.5 at epoch 2. As in
        // Keras, the cooldown epoch (3) ends its cooldown and already counts, so the next
        // cut is at epoch 4, then 0.0125 is floored to 0.02 at epoch 6, and no lower after.
        #expect(history == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02])
    }

    @Test func reduceLROnPlateauResetsOnImprovement() {
        var plateau = ReduceLROnPlateau(factor: 0.1, patience: 2)
        var reductions = 0
        for value in [1.0, 1.1, 0.9, 1.0, 0.8, 0.85] {
            if plateau.epochEnded(metrics: ["val_loss": value], learningRate: 1) != nil { reductions += 1 }
        }
        #expect(reductions == 0)
    }

    @Test func modelCheckpointKeepsTheBestKAndTheNewest() {
        var keeper = ModelCheckpoint(saveBest: 2)
        var deleted: [String] = []
        for (epoch, value) in [0.9, 0.5, 0.7, 0.6, 0.8].enumerated() {
            deleted += keeper.added("epoch-\(epoch + 1)", value: value)
        }
        #expect(Set(keeper.state.kept.map(\.name)) == ["epoch-2", "epoch-4", "epoch-5"])
        #expect(Set(deleted) == ["epoch-1", "epoch-3"])
        var newestOnly = ModelCheckpoint(saveBest: 0)
        _ = newestOnly.added("a", value: 1)
        #expect(newestOnly.added("b", value: 2) == ["a"])
    }
}
