import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Each optimizer's first two steps against its update rule written out by hand here.
@Suite struct OptimizerTests {
    /// 19 values: an update that runs 8 lanes at a time (Adam, AdaGrad, RMSprop) covers two full groups and
    /// a tail of three, the first three values as written out here.
    let start: [Double] = [1.0, -2.0, 0.5] + (3..<19).map { sin(Double($0)) * 2 }
    let gradients: [[Double]] = [[0.5, -1.0, 0.25] + (3..<19).map { cos(Double($0) * 1.3) },
                                 [0.2, 0.3, -0.4] + (3..<19).map { sin(Double($0) * 0.7) * 0.5 }]
    let lr = 0.1
    var count: Int { start.count }

    /// Runs two steps of `optimizer` from `start` with `gradients`; returns parameters after each.
    func run(_ optimizer: some Optimizer) -> [[Double]] {
        var optimizer = optimizer
        let store = ParameterStore()
        let slot = store.register(name: "p", shape: [count], isDecayed: true)
        store.setValue(Tensor(shape: [count], scalars: start.map(Float.init)), of: slot)
        var after: [[Double]] = []
        for g in gradients {
            store.withGradients { buffer in for i in 0..<count { buffer[i] = Float(g[i]) } }
            optimizer.step(store, learningRate: Float(lr))
            after.append(store.value(of: slot).scalars.map(Double.init))
            #expect(store.gradient(of: slot).scalars == [Float](repeating: 0, count: count), "step must clear gradients")
        }
        #expect(optimizer.stepCount == 2)
        return after
    }

    func expectClose(_ actual: [[Double]], _ expected: [[Double]], tolerance: Double = 1e-5) {
        for (a, e) in zip(actual.joined(), expected.joined()) {
            #expect(abs(a - e) < tolerance, "got \(actual), expected \(expected)")
        }
    }

    @Test func plainSGD() {
        let p1 = zip(start, gradients[0]).map { $0 - lr * $1 }
        let p2 = zip(p1, gradients[1]).map { $0 - lr * $1 }
        expectClose(run(SGD()), [p1, p2])
    }

    @Test func sgdWithWeightDecay() {
        let decay = 0.01
        let p1 = zip(start, gradients[0]).map { $0 - lr * ($1 + decay * $0) }
        let p2 = zip(p1, gradients[1]).map { $0 - lr * ($1 + decay * $0) }
        expectClose(run(SGD(weightDecay: Float(decay))), [p1, p2])
    }

    @Test func momentum() {
        let mu = 0.9
        let v1 = gradients[0]
        let p1 = zip(start, v1).map { $0 - lr * $1 }
        let v2 = zip(v1, gradients[1]).map { mu * $0 + $1 }
        let p2 = zip(p1, v2).map { $0 - lr * $1 }
        expectClose(run(SGD(momentum: Float(mu))), [p1, p2])
    }

    @Test func nesterov() {
        let mu = 0.9
        let v1 = gradients[0]
        let p1 = (0..<count).map { start[$0] - lr * (gradients[0][$0] + mu * v1[$0]) }
        let v2 = (0..<count).map { mu * v1[$0] + gradients[1][$0] }
        let p2 = (0..<count).map { p1[$0] - lr * (gradients[1][$0] + mu * v2[$0]) }
        expectClose(run(SGD(momentum: Float(mu), nesterov: true)), [p1, p2])
    }

    /// AdaGrad's reference: s ← s + g², p ← p − lr·g/(√s + ε), with λ·p joining the gradient.
    func adaGradReference(decay: Double) -> [[Double]] {
        let eps = 1e-10
        var p = start, s = [Double](repeating: 0, count: count), result: [[Double]] = []
        for g in gradients {
            for i in 0..<count {
                let grad = g[i] + decay * p[i]
                s[i] += grad * grad
                p[i] -= lr * grad / (s[i].squareRoot() + eps)
            }
            result.append(p)
        }
        return result
    }

    @Test func adaGrad() {
        expectClose(run(AdaGrad()), adaGradReference(decay: 0))
        expectClose(run(AdaGrad(weightDecay: 0.05)), adaGradReference(decay: 0.05))
    }

    /// RMSprop's reference: s ← α·s + (1 − α)·g², p ← p − lr·g/(√s + ε), with λ·p joining the gradient.
    func rmsPropReference(decay: Double) -> [[Double]] {
        let alpha = 0.99, eps = 1e-8
        var p = start, s = [Double](repeating: 0, count: count), result: [[Double]] = []
        for g in gradients {
            for i in 0..<count {
                let grad = g[i] + decay * p[i]
                s[i] = alpha * s[i] + (1 - alpha) * grad * grad
                p[i] -= lr * grad / (s[i].squareRoot() + eps)
            }
            result.append(p)
        }
        return result
    }

    @Test func rmsProp() {
        expectClose(run(RMSprop()), rmsPropReference(decay: 0), tolerance: 1e-4)
        expectClose(run(RMSprop(weightDecay: 0.05)), rmsPropReference(decay: 0.05), tolerance: 1e-4)
    }

    /// Adam's reference; `decoupled` applies AdamW's p ← p(1 − lr·λ), otherwise λ·p joins the gradient.
    func adamReference(decay: Double, decoupled: Bool) -> [[Double]] {
        let b1 = 0.9, b2 = 0.999, eps = 1e-8
        var p = start, m = [Double](repeating: 0, count: count), v = m
        var result: [[Double]] = []
        for (t, g) in gradients.enumerated() {
            let step = Double(t + 1)
            for i in 0..<count {
                let grad = g[i] + (decoupled ? 0 : decay * p[i])
                if decoupled { p[i] *= 1 - lr * decay }
                m[i] = b1 * m[i] + (1 - b1) * grad
                v[i] = b2 * v[i] + (1 - b2) * grad * grad
                let mHat = m[i] / (1 - pow(b1, step)), vHat = v[i] / (1 - pow(b2, step))
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            result.append(p)
        }
        return result
    }

    @Test func adam() {
        expectClose(run(Adam()), adamReference(decay: 0, decoupled: false))
        expectClose(run(Adam(weightDecay: 0.05)), adamReference(decay: 0.05, decoupled: false))
    }

    @Test func adamW() {
        expectClose(run(Adam.adamW(weightDecay: 0.05)), adamReference(decay: 0.05, decoupled: true))
        // AdamW's decay must differ from Adam's L2 term, or the test above proves nothing.
        #expect(abs(adamReference(decay: 0.05, decoupled: true)[1][0] - adamReference(decay: 0.05, decoupled: false)[1][0]) > 1e-4)
    }
}
