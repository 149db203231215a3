import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Max-norm constraint, Gaussian weight noise and the Gaussian noise layer.
@Suite struct RegularizerTests {
    @Test func maxNormScalesOnlyTheRowsOutsideTheBall() throws {
        let model = try Model([.dense(units: 3)], inputShape: [2], seed: 1)
        let (weight, bias) = (model.parameters.slots[0], model.parameters.slots[1])
        // Row norms 5, 1, 0.5.
        model.parameters.setValue(Tensor(shape: [3, 2], scalars: [3, 4, 0.6, 0.8, 0, -0.5]), of: weight)
        model.parameters.setValue(Tensor(shape: [3], scalars: [10, -10, 7]), of: bias)
        MaxNormConstraint(maxNorm: 2).apply(to: model.parameters)
        let w = model.parameters.value(of: weight).scalars
        #expect(abs(w[0] - 1.2) < 1e-6 && abs(w[1] - 1.6) < 1e-6, "the norm-5 row is scaled onto radius 2: \(w)")
        #expect(Array(w[2...]) == [0.6, 0.8, 0, -0.5], "rows inside the ball are untouched")
        #expect(model.parameters.value(of: bias).scalars == [10, -10, 7], "biases are not constrained")
    }

    @Test func weightNoisePerturbsWeightsReproduciblyAndGivesTheCleanValuesBack() throws {
        let model = try Model([.dense(units: 4), .dense(units: 2)], inputShape: [3], seed: 1)
        let store = model.parameters
        let original = store.snapshotParameters()
        let noise = WeightNoise(standardDeviation: 0.1)
        let clean = noise.perturb(store, seed: 5, step: 3)
        #expect(clean == original)
        let noisy = store.snapshotParameters()
        // Weights moved by about σ; biases (not decayed) did not.
        var moved: [Float] = []
        for slot in store.slots {
            let difference = zip(noisy[slot.range], original[slot.range]).map { $0 - $1 }
            if slot.isDecayed { moved += difference } else { #expect(difference.allSatisfy { $0 == 0 }, "\(slot.name) moved") }
        }
        let deviation = (moved.map { Double($0 * $0) }.reduce(0, +) / Double(moved.count)).squareRoot()
        #expect(deviation > 0.05 && deviation < 0.2, "noise deviation \(deviation)")
        // The same (seed, step) draws the same noise; another step draws other noise.
        store.restoreParameters(clean)
        _ = noise.perturb(store, seed: 5, step: 3)
        #expect(store.snapshotParameters() == noisy)
        store.restoreParameters(clean)
        _ = noise.perturb(store, seed: 5, step: 4)
        #expect(store.snapshotParameters() != noisy)
    }

    @Test func gaussianNoiseIsActiveOnlyInTraining() throws {
        let model = try Model([.gaussianNoise(stddev: 0.5)], inputShape: [1000], seed: 1)
        let input = VisionLayerTests.randomInput([2, 1000], seed: 2)
        #expect(VisionLayerTests.run(model, input, isTraining: false) == input)
        let noisy = VisionLayerTests.run(model, input, isTraining: true)
        let differences = zip(noisy.scalars, input.scalars).map { Double($0 - $1) }
        let deviation = (differences.map { $0 * $0 }.reduce(0, +) / Double(differences.count)).squareRoot()
        #expect(abs(deviation - 0.5) < 0.03, "noise deviation \(deviation)")
        #expect(ModuleTests.message(#"[{"type": "gaussian_noise", "stddev": -1}]"#) == "[0].stddev: expected a number ≥ 0, got -1.0")
    }
}
