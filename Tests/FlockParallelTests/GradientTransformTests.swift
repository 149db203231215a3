import FlockNN
import FlockTensor
import Foundation
import Testing
@testable import FlockParallel

/// The gradient chain's transforms on a small store, one rank.
@Suite struct GradientTransformTests {
    /// A store with slots `w` (decayed) and `b` (not), values and gradients given.
    func store(values: [Float], gradients: [Float], biasCount: Int = 0) -> ParameterStore {
        let store = ParameterStore()
        let weight = store.register(name: "w", shape: [values.count - biasCount], isDecayed: true)
        if biasCount > 0 { _ = store.register(name: "b", shape: [biasCount], isDecayed: false) }
        store.setValue(Tensor(shape: [weight.count], scalars: Array(values[..<weight.count])), of: weight)
        if biasCount > 0 {
            store.setValue(Tensor(shape: [biasCount], scalars: Array(values[weight.count...])), of: store.slots[1])
        }
        store.withGradients { g in for i in 0..<gradients.count { g[i] = gradients[i] } }
        return store
    }

    func update(_ store: ParameterStore, scales: [String: Double] = [:], learningRate: Float = 1,
                lossFinite: Bool = true) -> GradientUpdate {
        GradientUpdate(parameters: store, groups: ParameterGroup.grouping(store.slots, scales: scales), sharding: WholeModelPlan(),
                       learningRate: learningRate, lossFinite: lossFinite, dataGroupSize: 1)
    }

    func gradients(_ store: ParameterStore) -> [Float] { store.withGradients { Array($0) } }

    @Test func clipByNormScalesToTheLimit() throws {
        let s = store(values: [0, 0], gradients: [3, 4])
        #expect(try ClipByGlobalNorm(maxNorm: 1).apply(update(s)))
        let clipped = gradients(s)
        #expect(abs(clipped[0] - 0.6) < 1e-5 && abs(clipped[1] - 0.8) < 1e-5)
        let small = store(values: [0, 0], gradients: [0.3, 0.4])
        _ = try ClipByGlobalNorm(maxNorm: 1).apply(update(small))
        #expect(gradients(small) == [0.3, 0.4])
    }

    @Test func clipByValueClamps() throws {
        let s = store(values: [0, 0, 0], gradients: [-3, 0.2, 5])
        _ = try PenalizeAndClipValues(penalty: WeightPenalty(), limit: 1).apply(update(s))
        #expect(gradients(s) == [-1, 0.2, 1])
    }

    @Test func elasticNetPenaltyOnWeightsNotBiases() throws {
        let s = store(values: [2, -1, 3], gradients: [0, 0, 0.5], biasCount: 1)
        _ = try PenalizeAndClipValues(penalty: .elasticNet(l1: 0.1, l2: 0.5), limit: nil).apply(update(s))
        // 0.1·sign(w) + 2·0.5·w on the weights; the bias keeps its gradient.
        #expect(gradients(s) == [2.1, -1.1, 0.5])
    }

    @Test func aNonFiniteGradientSkipsTheStepAndClearsEveryGradient() throws {
        let s = store(values: [1, 1], gradients: [.nan, 2])
        let chain = GradientChain([SkipNonFiniteStep(), ApplyOptimizer(SGD())])
        #expect(try !chain.apply(update(s)))
        #expect(s.value(of: s.slots[0]).scalars == [1, 1] && gradients(s) == [0, 0])
        let finiteGradients = store(values: [1, 1], gradients: [1, 2])
        #expect(try !chain.apply(update(finiteGradients, lossFinite: false)), "one rank's non-finite loss skips too")
    }

    @Test func aFrozenGroupGetsNoUpdateNoStateAndNoGradient() throws {
        let s = store(values: [1, 1, 1], gradients: [1, 1, 1], biasCount: 1)
        let adam = ApplyOptimizer(Adam())
        // Clipping by value would change the frozen gradient if it were touched.
        let chain = GradientChain([PenalizeAndClipValues(penalty: WeightPenalty(l2: 1), limit: 0.5), adam])
        #expect(try chain.apply(update(s, scales: ["w": 0], learningRate: 0.1)))
        #expect(s.value(of: s.slots[0]).scalars == [1, 1], "frozen weights do not move")
        #expect(s.value(of: s.slots[1]).scalars != [1], "the bias moves")
        let moments = adam.optimizer.stateBuffers["first_moment"]!
        #expect(moments[0..<2] == [0, 0] && moments[2] != 0, "frozen moments stay zero: \(moments)")
        #expect(gradients(s) == [0, 0, 0])
    }

    @Test func aMultiplierScalesTheGroupsLearningRate() throws {
        let s = store(values: [0, 0], gradients: [1, 1], biasCount: 1)
        _ = try GradientChain([ApplyOptimizer(SGD())]).apply(update(s, scales: ["b": 0.5], learningRate: 0.2))
        #expect(s.withParameters { Array($0) } == [-0.2, -0.1])
        #expect(ParameterGroup.spans(of: ParameterGroup.grouping(s.slots, scales: [:]), learningRate: 0.2)
                == [UpdateSpan(range: 0..<2, learningRate: 0.2)], "one group is one span over the whole buffer")
    }
}
