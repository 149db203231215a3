import Foundation

/// Differentiable arithmetic. Each op's forward and its local backward sit together.
extension Tape {
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        record(a.value + b.value, inputs: [a, b]) { tape, g in
            tape.accumulate(g.summed(toShape: a.shape), into: a)
            tape.accumulate(g.summed(toShape: b.shape), into: b)
        }
    }

    public func subtract(_ a: Variable, _ b: Variable) -> Variable {
        record(a.value - b.value, inputs: [a, b]) { tape, g in
            tape.accumulate(g.summed(toShape: a.shape), into: a)
            tape.accumulate((-g).summed(toShape: b.shape), into: b)
        }
    }

    public func multiply(_ a: Variable, _ b: Variable) -> Variable {
        let va = a.value, vb = b.value
        return record(va * vb, inputs: [a, b]) { tape, g in
            if a.requiresGradient { tape.accumulate((g * vb).summed(toShape: a.shape), into: a) }
            if b.requiresGradient { tape.accumulate((g * va).summed(toShape: b.shape), into: b) }
        }
    }

    public func divide(_ a: Variable, _ b: Variable) -> Variable {
        let va = a.value, vb = b.value
        return record(va / vb, inputs: [a, b]) { tape, g in
            if a.requiresGradient { tape.accumulate((g / vb).summed(toShape: a.shape), into: a) }
            if b.requiresGradient {
                let local = Tensor.zip(va, vb) { x, y in -x / (y * y) }
                tape.accumulate((g * local).summed(toShape: b.shape), into: b)
            }
        }
    }

    public func scale(_ a: Variable, by factor: Float) -> Variable {
        record(a.value * factor, inputs: [a]) { tape, g in tape.accumulate(g * factor, into: a) }
    }

    public func exp(_ a: Variable) -> Variable {
        let y = a.value.map { Foundation.exp($0) }
        return record(y, inputs: [a]) { tape, g in tape.accumulate(g * y, into: a) }
    }

    public func log(_ a: Variable) -> Variable {
        let x = a.value
        return record(x.map { Foundation.log($0) }, inputs: [a]) { tape, g in tape.accumulate(g / x, into: a) }
    }

    public func square(_ a: Variable) -> Variable {
        let x = a.value
        return record(x * x, inputs: [a]) { tape, g in tape.accumulate(g * x * 2, into: a) }
    }

    /// 2-D matrix product `op(a) · op(b)`.
    public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let va = a.value, vb = b.value
        let y = Tensor.matmul(va, vb, transposeA: transposeA, transposeB: transposeB)
        return record(y, inputs: [a, b]) { tape, g in
            // y = A·B ⇒ dA = g·Bᵀ, dB = Aᵀ·g; transposed operands swap roles.
            if a.requiresGradient {
                let da = transposeA
                    ? Tensor.matmul(vb, g, transposeA: transposeB, transposeB: true)
                    : Tensor.matmul(g, vb, transposeA: false, transposeB: !transposeB)
                tape.accumulate(da, into: a)
            }
            if b.requiresGradient {
                let db = transposeB
                    ? Tensor.matmul(g, va, transposeA: true, transposeB: transposeA)
                    : Tensor.matmul(va, g, transposeA: !transposeA, transposeB: false)
                tape.accumulate(db, into: b)
            }
        }
    }

    /// Sum of all elements, a scalar.
    public func sum(_ a: Variable) -> Variable {
        let shape = a.shape
        return record(Tensor(scalar: a.value.sum()), inputs: [a]) { tape, g in
            tape.accumulate(Tensor(repeating: g.scalar, shape: shape), into: a)
        }
    }

    /// Mean of all elements, a scalar.
    public func mean(_ a: Variable) -> Variable {
        let shape = a.shape
        let count = Float(Swift.max(a.value.count, 1))
        return record(Tensor(scalar: a.value.mean()), inputs: [a]) { tape, g in
            tape.accumulate(Tensor(repeating: g.scalar / count, shape: shape), into: a)
        }
    }

    /// Sum over `axis`, removing it.
    public func sum(_ a: Variable, alongAxis axis: Int) -> Variable {
        let shape = a.shape
        var kept = shape
        kept[axis] = 1
        return record(a.value.sum(alongAxis: axis), inputs: [a]) { tape, g in
            let expanded = g.reshaped(kept)
            tape.accumulate(Tensor.zip(Tensor(zeros: shape), expanded, +), into: a)
        }
    }

    public func reshape(_ a: Variable, to shape: [Int]) -> Variable {
        let original = a.shape
        return record(a.value.reshaped(shape), inputs: [a]) { tape, g in
            tape.accumulate(g.reshaped(original), into: a)
        }
    }
}
