import FlockNN
import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A user's loss kind: `factor` · mean squared error (`loss: {name: scaled_mse, factor: 2}`).
struct ScaledMeanSquaredError: LossKind {
    static let typeName = "scaled_mse"
    var factor = 1.0

    init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case factor }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LossTermConfig.sharedKeys, owner: "loss 'scaled_mse'")
        factor = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Double.self, forKey: .factor) ?? 1
    }

    var reading: OutputReading { .values }

    func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        prediction.tape.scale(prediction.tape.meanSquaredError(prediction, target: target.reshaped(prediction.shape)), by: Float(factor))
    }
}

/// Losses as registered kinds composed into weighted sums over what each term reads.
@Suite struct LossTermsTests {
    static func example(_ name: String, _ overrides: [String], kinds: ConfigKinds = .standard) throws -> TrainingConfig {
        try ConfigLoader.load(path: ChildProcess.repositoryRoot.appendingPathComponent("examples/\(name)").path,
                              overrides: overrides, kinds: kinds)
    }

    static let logits = Tensor(shape: [3, 4], scalars: [0.5, -1, 2, 0.1, 1.5, 0.3, -0.7, 0.9, -0.2, 0.4, 0.8, -1.1])
    static let labels = Tensor(shape: [3], scalars: [2, 0, 3])

    /// The value and input gradient of `body` on a fresh tape.
    static func valueAndGradient(_ body: (Tape, Variable) -> Variable) -> (Float, [Float]) {
        let tape = Tape(parameters: ParameterStore())
        let z = tape.leaf(logits)
        let loss = body(tape, z)
        tape.backward(from: loss)
        return (loss.value.scalar, z.gradient!.scalars)
    }

    @Test func aWeightedSumIsEachTermTimesItsWeightAdded() {
        let sum = Loss(terms: [.init(CrossEntropyLoss(labelSmoothing: 0.1)), .init(FocalLoss(gamma: 2), weight: 0.5)])
        let composed = Self.valueAndGradient { _, z in sum(z, target: Self.labels) }
        let crossEntropy = Self.valueAndGradient { $0.softmaxCrossEntropy($1, labels: [2, 0, 3], labelSmoothing: 0.1) }
        let focal = Self.valueAndGradient { $0.focalLoss($1, labels: [2, 0, 3], gamma: 2) }
        #expect(abs(composed.0 - (crossEntropy.0 + 0.5 * focal.0)) < 1e-6)
        for (index, gradient) in composed.1.enumerated() {
            #expect(abs(gradient - (crossEntropy.1[index] + 0.5 * focal.1[index])) < 1e-6)
        }
        #expect(sum.name == "cross_entropy + 0.5·focal")
    }

    @Test func aConfigListsTermsAndTrainsOnTheirSum() throws {
        let config = try Self.example("digits-mlp.yaml", ["epochs=2", "callbacks={model_checkpoint: false}",
                                                          "loss=[{name: cross_entropy}, {name: focal, gamma: 1, weight: 0.25}]"])
        #expect(config.loss.terms.count == 2 && config.loss.terms[1].weight == 0.25)
        let trainer = try Trainer(config: config)
        let before = try trainer.evaluateValidation().metrics["val_loss"]!
        let summary = try trainer.fit()
        #expect(summary.final["val_loss"]! < before)
        #expect(summary.final["val_accuracy"]! > 0.8)
        // The encoded config (a run's config.yaml) decodes to the same terms.
        let again = try ConfigLoader.decode(yaml: try ConfigLoader.yaml(of: config), baseDirectory: "/")
        #expect(again.loss == config.loss)
    }

    @Test func anAutoencoderReconstructsItsInput() throws {
        let config = try Self.example("digits-mlp.yaml", [
            "epochs=3", "callbacks={model_checkpoint: false}", "metrics=[mse]",
            "model=[{type: dense, units: 16, activation: relu}, {type: dense, units: 64}]",
            "loss={name: mse, target: features}",
        ])
        let trainer = try Trainer(config: config)
        let before = try trainer.evaluateValidation().metrics
        let summary = try trainer.fit()
        #expect(summary.final["val_loss"]! < 0.7 * before["val_loss"]!)
        // Metrics compare the output with what the loss reads: the (normalized) features.
        #expect(abs(summary.final["val_mse"]! - summary.final["val_loss"]!) < 1e-4 * summary.final["val_loss"]!)
        let narrow = try Self.example("digits-mlp.yaml", [
            "model=[{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]", "metrics=[mse]",
            "loss={name: mse, target: features}",
        ])
        #expect {
            try Trainer(config: narrow)
        } throws: { error in
            "\(error)".hasPrefix("model[1].units: the model outputs 10 values per sample but loss 'mse(features)' on this data needs 64")
        }
    }

    @Test func aUserRegisteredKindIsNamedInTheConfig() throws {
        #expect {
            try Self.example("diabetes-regression.yaml", ["loss={name: scaled_mse, factor: 2}"])
        } throws: { error in
            "\(error)" == "loss.name: unknown loss 'scaled_mse' (expected one of: cross_entropy, binary_cross_entropy, mse, mae, huber, focal, distillation, wasserstein, contrastive, triplet, sequence_cross_entropy)"
        }
        var kinds = ConfigKinds.standard
        kinds.losses.register(ScaledMeanSquaredError.self)
        func validationLoss(_ loss: String) throws -> Double {
            let config = try Self.example("diabetes-regression.yaml", ["loss=\(loss)", "callbacks={model_checkpoint: false}"], kinds: kinds)
            return try Trainer(config: config).evaluateValidation().metrics["val_loss"]!
        }
        // The same initial model: the user's kind computes twice the mean squared error.
        let mse = try validationLoss("mse"), scaled = try validationLoss("{name: scaled_mse, factor: 2}")
        #expect(abs(scaled - 2 * mse) < 1e-5 * mse)
        #expect {
            try Self.example("diabetes-regression.yaml", ["loss={name: scaled_mse, gamma: 2}"], kinds: kinds)
        } throws: { error in
            "\(error)" == "loss.gamma: not a field of loss 'scaled_mse' (expected one of: factor)"
        }
    }

    @Test func termsThatReadTheOutputDifferentlyAreRefused() throws {
        #expect {
            try Self.example("digits-mlp.yaml", ["loss=[{name: cross_entropy}, {name: mse}]"])
        } throws: { error in
            "\(error)".hasPrefix("loss[1].name: loss 'mse' reads the output as values but loss[0] reads it as class logits")
        }
        #expect {
            try Self.example("digits-mlp.yaml", ["loss=[{name: cross_entropy}, {name: mse, weight: -1}]"])
        } throws: { error in
            "\(error)" == "loss[1].weight: expected a number in (0, 1000000.0], got -1.0"
        }
        #expect {
            try Self.example("digits-mlp.yaml", ["loss=[]"])
        } throws: { error in
            "\(error)" == "loss: a list of loss terms needs at least one term"
        }
    }

    @Test func aSweepSetsATermsFieldsByPath() throws {
        var config = try Self.example("digits-mlp.yaml", [])
        try config.set("loss.label_smoothing", to: .double(0.2))
        #expect((config.loss.terms[0].kind as? CrossEntropyLoss)?.labelSmoothing == 0.2)
        // Another kind keeps the fields it shares and drops the old kind's own.
        try config.set("loss.name", to: .string("focal"))
        #expect(config.loss.terms[0].kind as? FocalLoss == FocalLoss())
        #expect {
            try config.set("loss.label_smoothing", to: .double(0.1))
        } throws: { error in
            "\(error)" == "loss.label_smoothing: not a field of loss 'focal' (expected one of: gamma)"
        }
        try config.set("loss", to: .string("focal"))
        try config.set("loss.gamma", to: .double(3))
        #expect((config.loss.terms[0].kind as? FocalLoss)?.gamma == 3)
        try config.set("loss", to: .string("cross_entropy"))
        var sum = try Self.example("digits-mlp.yaml", ["loss=[{name: cross_entropy}, {name: focal}]"])
        try sum.set("loss[1].weight", to: .double(0.3))
        try sum.set("loss[1].gamma", to: .double(1.5))
        #expect(sum.loss.terms[1].weight == 0.3 && (sum.loss.terms[1].kind as? FocalLoss)?.gamma == 1.5)
        try sum.validate()
    }
}

/// Optimizers and schedules as registered kinds.
@Suite struct OptimizerAndScheduleKindsTests {
    @Test func aKindsOwnFieldsAreCheckedAndAnotherKindsAreRefused() throws {
        #expect {
            try LossTermsTests.example("digits-mlp.yaml", ["optimizer={name: adam, momentum: 0.9}"])
        } throws: { error in
            "\(error)" == "optimizer.momentum: not a field of optimizer 'adam' (expected one of: beta1, beta2, epsilon)"
        }
        #expect {
            try LossTermsTests.example("digits-mlp.yaml", ["schedule={name: cosine, gamma: 0.5}"])
        } throws: { error in
            "\(error)" == "schedule.gamma: not a field of schedule 'cosine' (expected one of: min_lr)"
        }
        #expect {
            try LossTermsTests.example("digits-mlp.yaml", ["optimizer.name=adamax"])
        } throws: { error in
            "\(error)" == "optimizer.name: unknown optimizer 'adamax' (expected one of: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)"
        }
        let adamW = try LossTermsTests.example("digits-mlp.yaml", ["optimizer={name: adamw, lr: 0.01}"])
        let optimizer = try #require(try adamW.optimizer.makeOptimizer(path: "optimizer") as? Adam)
        #expect(optimizer.weightDecay == 0.01 && optimizer.decoupledWeightDecay)
    }

    @Test func aSweepChangingTheOptimizerKeepsSharedFieldsAndDropsTheOldKindsOwn() throws {
        var config = try LossTermsTests.example("digits-mlp.yaml", ["optimizer={name: momentum, lr: 0.02, momentum: 0.8, weight_decay: 0.001}"])
        let adam = try config.setting(["optimizer.name": .string("adam"), "optimizer.beta2": .double(0.98)])
        #expect(adam.optimizer.lr == 0.02 && adam.optimizer.weightDecay == 0.001)
        #expect(adam.optimizer.kind as? Adam.Spec == { var spec = Adam.Spec(); spec.moments.beta2 = 0.98; return spec }())
        try config.set("optimizer.momentum", to: .double(0.5))
        #expect((config.optimizer.kind as? SGD.MomentumSpec)?.momentum == 0.5)
        try config.set("schedule", to: .string("step"))
        try config.set("schedule.step_size", to: .int(3))
        #expect((config.schedule.kind as? StepDecaySchedule)?.stepSize == 3 && (config.schedule.kind as? StepDecaySchedule)?.gamma == nil)
    }

    @Test func aUserScheduleKindDrivesTheLearningRate() throws {
        var kinds = ConfigKinds.standard
        kinds.schedules.register(HalvingSchedule.self)
        let config = try LossTermsTests.example("digits-mlp.yaml", ["epochs=3", "callbacks={model_checkpoint: false}",
                                                                    "schedule={name: halving}"], kinds: kinds)
        let trainer = try Trainer(config: config)
        let recorder = EpochRecorder()
        trainer.observers.append(recorder)
        _ = try trainer.fit()
        let rates = recorder.records.map { Double($0.learningRate) }
        #expect(rates.count == 3)
        for (epoch, rate) in rates.enumerated() {
            #expect(abs(rate - 0.002 / Double(1 << epoch)) < 1e-9, "epoch \(epoch): \(rate)")
        }
    }
}

/// Every epoch's record.
final class EpochRecorder: TrainingObserver {
    var records: [EpochRecord] = []
    func epochEnded(_ record: EpochRecord) throws { records.append(record) }
}

/// A user's schedule: the rate halves every epoch.
struct HalvingSchedule: ScheduleKind {
    static let typeName = "halving"
    init() {}
    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: [], alsoAllowed: ScheduleRegistry.sharedKeys, owner: "schedule 'halving'")
    }
    func encode(to encoder: any Encoder) throws {}
    func rate(base: Float, at clock: ScheduleClock) -> Float { base / Float(1 << clock.epoch) }
}

/// The built-in step, remembering the rows of each chunk evaluation hands it.
final class ChunkRecordingStep: TrainStep {
    var chunkRows: [Int] = []

    func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
        try ModelStep().forwardBackward(batch, phase: phase, context: &context)
    }

    func evaluate(features: Tensor, targets: Tensor, context: StepContext) throws -> MicroBatchOutcome {
        chunkRows.append(features.shape[0])
        return try ModelStep().evaluate(features: features, targets: targets, context: context)
    }
}

/// Evaluation in chunks of `data.eval_batch_size`.
@Suite struct EvaluationChunkTests {
    @Test func validationRunsInChunksOfTheEvalBatchSizeWithTheSameMetrics() throws {
        let data = try LibraryTrainerTests.data()
        func validation(_ chunk: Int?) throws -> (metrics: [String: Double], chunks: [Int]) {
            let step = ChunkRecordingStep()
            let model = try Model([.dense(units: 24, activation: .relu), .dense(units: 10)],
                                  inputShape: data.training.featureShape, seed: 5)
            var options = TrainingOptions()
            options.batchSize = 64
            options.evalBatchSize = chunk
            let trainer = try Trainer(model: model, data: data, loss: .crossEntropy(), optimizer: Adam(),
                                      step: .singleRank(step), options: options)
            return (try trainer.evaluateValidation().metrics, step.chunkRows)
        }
        let rows = data.validation.count
        let whole = try validation(rows), byBatch = try validation(nil), odd = try validation(7)
        #expect(whole.chunks == [rows])
        #expect(byBatch.chunks == Array(repeating: 64, count: rows / 64) + (rows % 64 == 0 ? [] : [rows % 64]))
        #expect(odd.chunks == Array(repeating: 7, count: rows / 7) + (rows % 7 == 0 ? [] : [rows % 7]))
        for metrics in [byBatch.metrics, odd.metrics] {
            #expect(metrics["val_accuracy"] == whole.metrics["val_accuracy"])
            #expect(abs(metrics["val_loss"]! - whole.metrics["val_loss"]!) < 1e-6 * whole.metrics["val_loss"]!)
        }
    }

    @Test func theConfigFieldReachesTheTrainer() throws {
        let config = try LossTermsTests.example("digits-mlp.yaml", ["data.eval_batch_size=7"])
        #expect(try Trainer(config: config).options.evalBatchSize == 7)
    }
}
