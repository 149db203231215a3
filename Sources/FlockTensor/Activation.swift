import Foundation

/// The elementwise nonlinearities, with their derivatives side by side.
/// Softmax works along the last axis and is handled apart (`Tape.softmax`).
public enum Activation: String, Sendable, Codable, CaseIterable {
    case linear, relu, leakyRelu = "leaky_relu", elu, sigmoid, tanh, swish, gelu, softmax

    /// f(x).
    @inlinable
    public func value(_ x: Float, alpha: Float) -> Float {
        switch self {
        case .linear: return x
        case .relu: return x > 0 ? x : 0
        case .leakyRelu: return x > 0 ? x : alpha * x
        case .elu: return x > 0 ? x : alpha * (Foundation.exp(x) - 1)
        case .sigmoid: return Activation.logistic(x)
        case .tanh: return Foundation.tanh(x)
        case .swish: return x * Activation.logistic(x)
        // Exact GELU, x·Φ(x) (Hendrycks & Gimpel 2016), as PyTorch's default.
        case .gelu: return 0.5 * x * (1 + erf(x / Float(2).squareRoot()))
        case .softmax: preconditionFailure("softmax is not elementwise")
        }
    }

    /// f'(x), given x and y = f(x).
    @inlinable
    public func derivative(_ x: Float, _ y: Float, alpha: Float) -> Float {
        switch self {
        case .linear: return 1
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu: return x > 0 ? 1 : alpha
        case .elu: return x > 0 ? 1 : y + alpha
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .swish:
            let s = Activation.logistic(x)
            return s + x * s * (1 - s)
        case .gelu:
            let cdf = 0.5 * (1 + erf(x / Float(2).squareRoot()))
            let pdf = Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
            return cdf + x * pdf
        case .softmax: preconditionFailure("softmax is not elementwise")
        }
    }

    /// The default slope/scale parameter: 0.01 for LeakyReLU (PyTorch), 1 for ELU.
    public var defaultAlpha: Float {
        switch self {
        case .leakyRelu: return 0.01
        default: return 1
        }
    }

    @inlinable
    static func logistic(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
    }
}

extension Tape {
    /// Applies `activation` (softmax along the last axis).
    public func activation(_ x: Variable, _ activation: Activation, alpha: Float? = nil) -> Variable {
        switch activation {
        case .linear: return x
        case .softmax: return softmax(x)
        case .relu: return relu(x)
        case .gelu: return gelu(x)
        case .tanh, .sigmoid: return squashing(x, activation)
        default:
            let a = alpha ?? activation.defaultAlpha
            let input = x.value
            let y = input.map { activation.value($0, alpha: a) }
            return record(y, inputs: [x]) { tape, g in
                let dx = Tensor(shape: input.shape) { out in
                    input.scalars.withUnsafeBufferPointer { px in
                        y.scalars.withUnsafeBufferPointer { py in
                            g.scalars.withUnsafeBufferPointer { pg in
                                for i in 0..<out.count { out[i] = pg[i] * activation.derivative(px[i], py[i], alpha: a) }
                            }
                        }
                    }
                }
                tape.accumulate(dx, into: x)
            }
        }
    }

    /// ReLU with branch-free loops on both passes (it is on the hot path of every MLP).
    public func relu(_ x: Variable) -> Variable {
        var y = x.value
        y.scalars.withUnsafeMutableBufferPointer { VectorKernels.relu($0) }
        return record(y, inputs: [x]) { tape, g in
            let dx = Tensor(shape: y.shape, uninitializedFill: { out in
                y.scalars.withUnsafeBufferPointer { py in
                    g.scalars.withUnsafeBufferPointer { pg in VectorKernels.maskByPositive(pg, output: py, into: out) }
                }
            })
            tape.accumulate(dx, into: x)
        }
    }

    /// Exact GELU on 8-lane kernels (`GELUKernels`); backward from the input kept.
    public func gelu(_ x: Variable) -> Variable {
        let input = x.value
        let y = makeTensor(shape: input.shape, uninitializedFill: { out in
            input.scalars.withUnsafeBufferPointer { GELUKernels.forward($0, into: out) }
        })
        return record(y, inputs: [x]) { tape, g in
            let dx = tape.makeTensor(shape: input.shape, uninitializedFill: { out in
                input.scalars.withUnsafeBufferPointer { px in
                    g.scalars.withUnsafeBufferPointer { pg in
                        GELUKernels.backward(px, gradient: pg, into: out)
                    }
                }
            })
            tape.accumulate(dx, into: x)
        }
    }

    /// tanh or σ on 8-lane kernels (`FastMath`; glibc's `tanhf` and `expf` one value at a
    /// time kept these loops scalar); backward from the output kept: tanh' = 1 − y²,
    /// σ' = y(1 − y).
    func squashing(_ x: Variable, _ activation: Activation) -> Variable {
        let isTanh = activation == .tanh
        let y = makeTensor(shape: x.shape, uninitializedFill: { out in
            x.value.scalars.withUnsafeBufferPointer { px in
                guard !out.isEmpty else { return }
                if isTanh {
                    FastMath.tanh(px.baseAddress!, into: out.baseAddress!, count: out.count)
                } else {
                    FastMath.sigmoid(px.baseAddress!, into: out.baseAddress!, count: out.count)
                }
            }
        })
        return record(y, inputs: [x]) { tape, g in
            let dx = tape.makeTensor(shape: y.shape, uninitializedFill: { out in
                y.scalars.withUnsafeBufferPointer { py in
                    g.scalars.withUnsafeBufferPointer { pg in
                        guard !out.isEmpty else { return }
                        let (y, g, dx) = (py.baseAddress!, pg.baseAddress!, out.baseAddress!)
                        FloatLanes.forEach(out.count) { j in
                            let v = y.lanes(at: j)
                            dx.setLanes(g.lanes(at: j) * (isTanh ? 1 - v * v : v * (1 - v)), at: j)
                        } tail: { j in
                            dx[j] = g[j] * (isTanh ? 1 - y[j] * y[j] : y[j] * (1 - y[j]))
                        }
                    }
                }
            })
            tape.accumulate(dx, into: x)
        }
    }

    /// Softmax along the last axis.
    public func softmax(_ x: Variable) -> Variable {
        let y = Tensor.softmaxLastAxis(x.value)
        let width = x.shape.last ?? 1
        return record(y, inputs: [x]) { tape, g in
            // dx = y ⊙ (g − Σ g⊙y) per row.
            var dx = g
            dx.scalars.withUnsafeMutableBufferPointer { out in
                y.scalars.withUnsafeBufferPointer { py in
                    for row in 0..<(out.count / Swift.max(width, 1)) {
                        let base = row * width
                        var dot: Float = 0
                        for j in 0..<width { dot += out[base + j] * py[base + j] }
                        for j in 0..<width { out[base + j] = py[base + j] * (out[base + j] - dot) }
                    }
                }
            }
            tape.accumulate(dx, into: x)
        }
    }
}

extension Tensor {
    /// Row-wise softmax along the last axis, max-shifted for stability.
    public static func softmaxLastAxis(_ x: Tensor) -> Tensor {
        let width = x.shape.last ?? 1
        var y = x
        y.scalars.withUnsafeMutableBufferPointer { out in
            for row in 0..<(out.count / Swift.max(width, 1)) {
                let base = row * width
                var largest = -Float.infinity
                for j in 0..<width { largest = Swift.max(largest, out[base + j]) }
                var total: Float = 0
                for j in 0..<width {
                    let e = Foundation.exp(out[base + j] - largest)
                    out[base + j] = e
                    total += e
                }
                for j in 0..<width { out[base + j] /= total }
            }
        }
        return y
    }
}
