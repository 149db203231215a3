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
