import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `regularization.max_norm` and `regularization.weight_noise` at `zero: 3`, on the rows
/// each rank holds: the model is zero 0's, with 2 data ranks, 2 stages × 2 data ranks and
/// 2 tensor slices × 2 data ranks (where a row-parallel weight's units are split between
/// ranks, their norms summed over the ranks that hold them).
@Suite struct ZeroThreeRegularizationTests {
    enum Setting: String, CaseIterable, Sendable { case maxNorm, weightNoise }

    static func config(zero: Int, pipeline: Int = 1, tensor: Int, _ setting: Setting?) throws -> TrainingConfig {
        var config = try ZeroTests.config(zero: zero, pipeline: pipeline, tensor: tensor)
        switch setting {
        // Rows of the first weight start near norm 1.3: the constraint bites from the first step.
        case .maxNorm: config.regularization.maxNorm = 0.8
        case .weightNoise: config.regularization.weightNoise = 0.05
        case nil: break
        }
        return config
    }

    /// Layouts (pipeline stages, tensor slices), each × 2 data ranks.
    @Test(arguments: Setting.allCases, [(1, 1), (1, 2), (2, 1)])
    func zeroThreeAppliesItToEachRanksRows(setting: Setting, layout: (pipeline: Int, tensor: Int)) throws {
        let (pipeline, tensor) = layout, ranks = 2 * layout.pipeline * layout.tensor
        let plain = try ZeroThreeFixture.train(Self.config(zero: 0, pipeline: pipeline, tensor: tensor, setting), ranks: ranks)
        let sharded = try ZeroThreeFixture.train(Self.config(zero: 3, pipeline: pipeline, tensor: tensor, setting), ranks: ranks)
        let without = try ZeroThreeFixture.train(Self.config(zero: 0, pipeline: pipeline, tensor: tensor, nil), ranks: ranks)
        #expect(ZeroTests.close(sharded.model, plain.model), "\(setting), pipeline \(pipeline), tensor \(tensor)")
        #expect(!ZeroTests.close(plain.model, without.model, tolerance: 1e-3), "\(setting) changes the model")
    }

    /// With 2 tensor slices the constraint and the noise act as on the unsharded model:
    /// each unit's norm is its whole row's, each weight's noise drawn at its place in the
    /// whole tensor.
    @Test(arguments: Setting.allCases)
    func tensorSlicesActAsTheUnshardedModel(setting: Setting) throws {
        let whole = try ZeroThreeFixture.train(Self.config(zero: 0, tensor: 1, setting), ranks: 2)
        let sliced = try ZeroThreeFixture.train(Self.config(zero: 3, tensor: 2, setting), ranks: 4)
        #expect(ZeroTests.close(sliced.model, whole.model, tolerance: 1e-4), "\(setting)")
    }
}
