import Testing
@testable import FlockTensor

@Suite struct LinearTests {
    /// Builds y = x·Wᵀ + b (and relu(x·Wᵀ + b), fused) with parameters in a store;
    /// compares the tape's input and parameter gradients with finite differences.
    @Test(arguments: [false, true])
    func linearGradientsMatchFiniteDifferences(relu: Bool) {
        let store = ParameterStore()
        let weight = store.register(name: "layers.0.weight", shape: [3, 4], isDecayed: true)
        let bias = store.register(name: "layers.0.bias", shape: [3], isDecayed: false)
        store.setValue(randomTensor([3, 4], seed: 1), of: weight)
        store.setValue(randomTensor([3], seed: 2), of: bias)
        let input = randomTensor([5, 4], seed: 3)
        let projection = randomTensor([5, 3], seed: 4)

        func objective() -> Float {
            let tape = Tape(parameters: store)
            let y = tape.linear(tape.constant(input), weight: weight, bias: bias, relu: relu)
            return (y.value * projection).sum()
        }
        let tape = Tape(parameters: store)
        let x = tape.leaf(input)
        let y = tape.linear(x, weight: weight, bias: bias, relu: relu)
        if relu {
            // Some outputs on each side of the kink, none near it (finite differences would straddle it).
            #expect(y.value.scalars.contains { $0 == 0 } && y.value.scalars.contains { $0 > 0.05 })
            let plain = tape.linear(tape.constant(input), weight: weight, bias: bias)
            #expect(y.value.scalars == plain.value.scalars.map { $0 > 0 ? $0 : 0 })
        }
        tape.backward(from: tape.sum(tape.multiply(y, tape.constant(projection))))

        let step: Float = 1e-2
        for slot in [weight, bias] {
            let analytic = store.gradient(of: slot)
            for i in 0..<slot.count {
                var values = store.snapshotParameters()
                let original = values[slot.offset + i]
                values[slot.offset + i] = original + step
                store.restoreParameters(values)
                let plus = objective()
                values[slot.offset + i] = original - step
                store.restoreParameters(values)
                let minus = objective()
                values[slot.offset + i] = original
                store.restoreParameters(values)
                #expect(abs((plus - minus) / (2 * step) - analytic.scalars[i]) < 1e-2, "\(slot.name)[\(i)]")
            }
        }
        let inputError = gradientCheckError([input], store: store) { t, leaves in
            t.linear(leaves[0], weight: weight, bias: bias, relu: relu)
        }
        #expect(inputError < 2e-2)
    }

    /// On oneDNN the forward is one call with the bias and ReLU in its output pass: the
    /// same outputs as sgemm, then the bias row and ReLU added by Flock.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func theFusedForwardOnOneDNNEqualsSgemmsThenBiasAndReLU(withBias: Bool, relu: Bool) throws {
        func forward(_ products: MatrixProducts) -> [Float] {
            let store = ParameterStore()
            store.matrixProducts = products
            let weight = store.register(name: "w", shape: [23, 29], isDecayed: true)
            let bias = withBias ? store.register(name: "b", shape: [23], isDecayed: false) : nil
            store.setValue(randomTensor([23, 29], seed: 5), of: weight)
            if let bias { store.setValue(randomTensor([23], seed: 6), of: bias) }
            let tape = Tape(parameters: store)
            return tape.linear(tape.constant(randomTensor([37, 29], seed: 7)), weight: weight, bias: bias, relu: relu).value.scalars
        }
        let kernels = try Float32MatrixProducts(rule: .onednn)
        let fused = forward(.float32PerShape(kernels)), plain = forward(.float32)
        #expect(kernels.fusedPrimitivesMade == (withBias || relu ? 1 : 0) && kernels.primitivesMade == 1)
        let worst = zip(fused, plain).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "largest difference \(worst)")
        #expect(!relu || plain.contains(0))
    }

    @Test func parameterGradientsAccumulateAcrossBackwardPasses() {
        let store = ParameterStore()
        let weight = store.register(name: "w", shape: [2, 2], isDecayed: true)
        store.setValue(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), of: weight)
        let input = Tensor(shape: [1, 2], scalars: [1, 1])
        for _ in 0..<2 {
            let tape = Tape(parameters: store)
            tape.backward(from: tape.sum(tape.linear(tape.constant(input), weight: weight, bias: nil)))
        }
        // d/dW Σ(x·Wᵀ) = 1·x per row, twice.
        #expect(store.gradient(of: weight).scalars == [2, 2, 2, 2])
    }

    @Test func gradientReadyFiresOncePerParameterWithItsFinalGradient() {
        let store = ParameterStore()
        let w0 = store.register(name: "layers.0.weight", shape: [4, 3], isDecayed: true)
        let b0 = store.register(name: "layers.0.bias", shape: [4], isDecayed: false)
        let w1 = store.register(name: "layers.1.weight", shape: [2, 4], isDecayed: true)
        for slot in [w0, w1] { store.setValue(randomTensor(slot.shape, seed: UInt64(slot.index)), of: slot) }
        let tape = Tape(parameters: store)
        var events: [(String, Tensor)] = []
        tape.addGradientReadyObserver { slot in events.append((slot.name, store.gradient(of: slot))) }
        let hidden = tape.relu(tape.linear(tape.constant(randomTensor([6, 3], seed: 9)), weight: w0, bias: b0))
        // w1 is used twice: its gradient is final only after the earlier use.
        let output = tape.add(tape.linear(hidden, weight: w1, bias: nil), tape.linear(hidden, weight: w1, bias: nil))
        tape.backward(from: tape.sum(output))

        #expect(events.map(\.0) == ["layers.1.weight", "layers.0.weight", "layers.0.bias"])
        for (name, gradientAtEvent) in events {
            #expect(gradientAtEvent == store.gradient(of: store.slot(named: name)!), "\(name) changed after its event")
        }
    }
}
