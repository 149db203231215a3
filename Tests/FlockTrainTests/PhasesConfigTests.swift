import FlockComm
import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `phases:` from YAML: each phase updates its own parameter group with its own optimizer
/// (and loss), data parallel and across a resume.
@Suite struct PhasesConfigTests {
    static let twoPhases = ["phases=[{name: decoder, parameters: [decoder], optimizer: {name: sgd, lr: 0.05}}, {name: encoder, parameters: [encoder]}]"]

    @Test func aPhaseUpdatesOnlyTheParametersItNames() throws {
        let trainer = try Trainer(config: try GraphTrainingTests.vae(["phases=[{name: enc, parameters: [encoder]}]"]))
        let store = trainer.parameters
        let before = Dictionary(uniqueKeysWithValues: store.slots.map { ($0.name, store.value(of: $0).scalars) })
        _ = try trainer.fit()
        for slot in store.slots {
            let moved = store.value(of: slot).scalars != before[slot.name]!
            #expect(moved == slot.name.hasPrefix("encoder."), "\(slot.name) moved: \(moved)")
        }
    }

    @Test func twoPhasesWithTheirOwnOptimizersTrainAlikeOnTwoRanksAndResumeBitForBit() throws {
        let config = try GraphTrainingTests.vae(Self.twoPhases + ["epochs=3"])
        let single = try Trainer(config: config)
        _ = try single.fit()
        let one = single.parameters.snapshotParameters()
        let two = try LocalCommunicator.run(ranks: 2, deadline: 120) { comm -> [Float] in
            let trainer = try Trainer(config: config, communicator: comm)
            _ = try trainer.fit()
            return trainer.parameters.snapshotParameters()
        }
        #expect(DataParallelTests.relativeDifference(two[0], one) < 1e-5)

        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        _ = try TrainingRun(config: try GraphTrainingTests.vae(Self.twoPhases + ["epochs=2"]), runDirectory: run.path).run()
        _ = try TrainingRun(config: config, runDirectory: run.path, resume: true).run()
        let resumed = try Predictor(path: run.appendingPathComponent("checkpoints/last").path).model.parameters.snapshotParameters()
        #expect(resumed == one, "the resumed run differs from the uninterrupted one")
    }

    @Test func badPhasesNameTheField() throws {
        func message(_ phases: String) -> String {
            do { _ = try Trainer(config: try GraphTrainingTests.vae(["phases=\(phases)"])); return "no error" } catch { return "\(error)" }
        }
        #expect(message("[{name: a, parameters: [decodr]}]").hasPrefix("phases[0].parameters: no parameter path starts with decodr. (parameters: encoder.0.weight"))
        #expect(message("[{name: a, parameters: [decoder]}, {name: a, parameters: [encoder]}]") == "phases[1].name: 'a' names an earlier phase")
        #expect(message("[{name: a, parameters: [decoder], optimizer: {name: sgd, lr: -1}}]").hasPrefix("phases[0].optimizer.lr"))
        #expect(message("[{name: a, parameters: [decoder], loss: {name: mse, output: nowhere, target: image}}]")
                == "phases[0].loss.output: unknown output 'nowhere' (expected one of: decoder, code)")
    }

    @Test func aPhasesOwnLossIsWhatItsUpdateFollows() throws {
        // With no KL term, SGD at lr 0.01 on 3·mse moves as SGD at lr 0.03 on mse does.
        let noKL = "model.nodes[1].layers[0].kl_weight=0"
        let tripled = try Trainer(config: try GraphTrainingTests.vae([noKL, """
            phases=[{name: all, parameters: [encoder, decoder], optimizer: {name: sgd, lr: 0.01},
                     loss: {terms: [{name: mse, output: decoder, target: image, weight: 3}]}}]
            """]))
        let faster = try Trainer(config: try GraphTrainingTests.vae([noKL, "phases=[{name: all, parameters: [encoder, decoder], optimizer: {name: sgd, lr: 0.03}}]"]))
        let slower = try Trainer(config: try GraphTrainingTests.vae([noKL, "phases=[{name: all, parameters: [encoder, decoder], optimizer: {name: sgd, lr: 0.01}}]"]))
        for trainer in [tripled, faster, slower] { _ = try trainer.fit() }
        let (a, b, c) = (tripled.parameters.snapshotParameters(), faster.parameters.snapshotParameters(), slower.parameters.snapshotParameters())
        #expect(DataParallelTests.relativeDifference(a, b) < 1e-4, "\(DataParallelTests.relativeDifference(a, b))")
        #expect(DataParallelTests.relativeDifference(a, c) > 1e-3)
    }

    /// `decoder` halves its own SGD rate each epoch (step decay, γ 0.5); `encoder` keeps the
    /// config's constant Adam rate: by hand 0.05, 0.025, 0.0125 and 0.003 throughout.
    static let halvingDecoder = "phases[0].schedule={name: step, step_size: 1, gamma: 0.5}"
    static let expectedRates: [[String: Float]] = [0.05, 0.025, 0.0125].map { ["decoder": $0, "encoder": 0.003] }

    static func agree(_ recorded: [[String: Float]], _ expected: [[String: Float]]) -> Bool {
        recorded.count == expected.count && zip(recorded, expected).allSatisfy { got, want in
            got.keys.sorted() == want.keys.sorted() && want.allSatisfy { abs(got[$0.key]! - $0.value) <= 1e-6 * $0.value }
        }
    }

    @Test func aPhasesOwnScheduleSetsItsRecordedLearningRate() throws {
        let trainer = try Trainer(config: try GraphTrainingTests.vae(Self.twoPhases + ["epochs=3", Self.halvingDecoder]))
        var recorded: [[String: Float]] = []
        _ = try trainer.fit { recorded.append($0.phaseLearningRates) }
        #expect(Self.agree(recorded, Self.expectedRates), "\(recorded)")
    }

    /// With its schedule at γ 1e-6 the decoder's SGD updates in epoch 2 are a millionth of
    /// epoch 1's; the encoder's Adam, on the config's constant rate, moves as much again.
    @Test func aPhasesUpdatesFollowItsOwnSchedule() throws {
        let trainer = try Trainer(config: try GraphTrainingTests.vae(Self.twoPhases + ["epochs=2", "phases[0].schedule={name: step, step_size: 1, gamma: 0.000001}"]))
        let store = trainer.parameters
        func snapshot() -> [String: [Float]] { Dictionary(uniqueKeysWithValues: store.slots.map { ($0.name, store.value(of: $0).scalars) }) }
        var snapshots = [snapshot()]
        _ = try trainer.fit { _ in snapshots.append(snapshot()) }
        func moved(_ prefix: String, epoch: Int) -> Float {
            snapshots[epoch].filter { $0.key.hasPrefix(prefix) }.reduce(0) { total, entry in
                total + zip(entry.value, snapshots[epoch + 1][entry.key]!).reduce(0) { $0 + abs($1.0 - $1.1) }
            }
        }
        let decoder = moved("decoder.", epoch: 1) / moved("decoder.", epoch: 0)
        let encoder = moved("encoder.", epoch: 1) / moved("encoder.", epoch: 0)
        #expect(decoder < 1e-4, "the decoder moved \(decoder) of its first epoch's distance in the second")
        #expect(encoder > 0.1, "the encoder moved \(encoder) of its first epoch's distance in the second")
    }

    /// Resumed from the epoch-2 checkpoint, the run with a phase schedule ends byte-identical
    /// to the uninterrupted one, and `metrics.jsonl` records each phase's rate as `lr_<phase>`.
    @Test func aPhaseScheduleResumesBitForBitAndIsRecorded() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (whole, cut) = (folder.url.appendingPathComponent("whole"), folder.url.appendingPathComponent("cut"))
        let config = try GraphTrainingTests.vae(Self.twoPhases + ["epochs=3", Self.halvingDecoder])
        _ = try TrainingRun(config: config, runDirectory: whole.path).run()
        _ = try TrainingRun(config: try GraphTrainingTests.vae(Self.twoPhases + ["epochs=2", Self.halvingDecoder]), runDirectory: cut.path).run()
        _ = try TrainingRun(config: config, runDirectory: cut.path, resume: true).run()
        func parameters(_ run: URL) throws -> [Float] {
            try Predictor(path: run.appendingPathComponent("checkpoints/last").path).model.parameters.snapshotParameters()
        }
        #expect(try parameters(cut) == parameters(whole), "the resumed run differs from the uninterrupted one")
        let lines = try String(contentsOf: cut.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let recorded = try lines.map { line -> [String: Float] in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return Dictionary(uniqueKeysWithValues: object.compactMap { key, value in
                key.hasPrefix("lr_") ? (String(key.dropFirst(3)), Float((value as? Double) ?? .nan)) : nil
            })
        }
        #expect(Self.agree(recorded, Self.expectedRates), "\(recorded)")
    }

    @Test func badPhaseSchedulesNameTheField() throws {
        func message(_ schedule: String) -> String {
            do { _ = try Trainer(config: try GraphTrainingTests.vae(Self.twoPhases + ["phases[1].schedule=\(schedule)"])); return "no error" } catch { return "\(error)" }
        }
        #expect(message("{name: cosin}").hasPrefix("phases[1].schedule.name: unknown schedule 'cosin' (expected one of: "), "\(message("{name: cosin}"))")
        #expect(message("{name: step, gamma: -1}") == "phases[1].schedule.gamma: expected a positive number, got -1.0")
        #expect(message("{name: cosine, warmup_epochs: -2}").hasPrefix("phases[1].schedule.warmup_epochs: "), "\(message("{name: cosine, warmup_epochs: -2}"))")
        #expect(message("{name: step, step_sise: 2}").hasPrefix("phases[1].schedule.step_sise: "), "\(message("{name: step, step_sise: 2}"))")
    }

    @Test func pipelineParallelismRefusesPhases() throws {
        let config = try DataParallelTests.config(["phases=[{name: first, parameters: [layers.0]}]", "parallel.pipeline=2"])
        var error: (any Error)?
        do {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 30) { comm in _ = try Trainer(config: config, communicator: comm); return 0 }
        } catch let thrown { error = thrown }
        #expect(error.map { "\($0)" }?.contains("phases: phases run with data parallelism only (pipeline: 1, tensor: 1)") == true,
                "\(String(describing: error))")
    }
}
