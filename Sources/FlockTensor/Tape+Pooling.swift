/// Pooling ops on NCHW inputs: each channel's plane is pooled on its own.
extension Tape {
    /// Max over each window; windows skip padded positions (a window entirely in the
    /// padding cannot occur with SAME or VALID). x (B, C, H, W) → (B, C, OH, OW).
    /// Backward routes each output's gradient to the input pixel that won (the first
    /// one in row-major order on ties).
    public func maxPool2D(_ x: Variable, geometry g: WindowGeometry) -> Variable {
        let input = x.value
        let planes = input.shape[0] * input.shape[1]
        checkPoolInput(input, g)
        var winners = [Int32](repeating: 0, count: planes * g.outputPlane)
        let y = Tensor(shape: [input.shape[0], input.shape[1], g.outputHeight, g.outputWidth]) { out in
            input.scalars.withUnsafeBufferPointer { px in
                winners.withUnsafeMutableBufferPointer { pw in
                    for plane in 0..<planes {
                        let image = px.baseAddress! + plane * g.inputPlane
                        for oh in 0..<g.outputHeight {
                            let rows = g.windowRange(output: oh, stride: g.strideHeight, pad: g.padTop, kernel: g.kernelHeight, size: g.height)
                            for ow in 0..<g.outputWidth {
                                let cols = g.windowRange(output: ow, stride: g.strideWidth, pad: g.padLeft, kernel: g.kernelWidth, size: g.width)
                                var best = -Float.infinity, bestIndex = rows.lowerBound * g.width + cols.lowerBound
                                for r in rows {
                                    for c in cols where image[r * g.width + c] > best {
                                        best = image[r * g.width + c]
                                        bestIndex = r * g.width + c
                                    }
                                }
                                let o = plane * g.outputPlane + oh * g.outputWidth + ow
                                out[o] = best
                                pw[o] = Int32(bestIndex)
                            }
                        }
                    }
                }
            }
        }
        let chosen = winners
        return record(y, inputs: [x]) { tape, gradient in
            var dx = Tensor(zeros: input.shape)
            dx.scalars.withUnsafeMutableBufferPointer { pdx in
                gradient.scalars.withUnsafeBufferPointer { pg in
                    for plane in 0..<planes {
                        for p in 0..<g.outputPlane {
                            let o = plane * g.outputPlane + p
                            pdx[plane * g.inputPlane + Int(chosen[o])] += pg[o]
                        }
                    }
                }
            }
            tape.accumulate(dx, into: x)
        }
    }

    /// Mean over each window's positions inside the input (padding is not counted, as
    /// TensorFlow's SAME average pooling does). x (B, C, H, W) → (B, C, OH, OW).
    public func averagePool2D(_ x: Variable, geometry g: WindowGeometry) -> Variable {
        let input = x.value
        let planes = input.shape[0] * input.shape[1]
        checkPoolInput(input, g)
        let y = Tensor(shape: [input.shape[0], input.shape[1], g.outputHeight, g.outputWidth]) { out in
            input.scalars.withUnsafeBufferPointer { px in
                for plane in 0..<planes {
                    let image = px.baseAddress! + plane * g.inputPlane
                    g.forEachWindow { p, rows, cols in
                        var total: Float = 0
                        for r in rows { for c in cols { total += image[r * g.width + c] } }
                        out[plane * g.outputPlane + p] = total / Float(rows.count * cols.count)
                    }
                }
            }
        }
        return record(y, inputs: [x]) { tape, gradient in
            var dx = Tensor(zeros: input.shape)
            dx.scalars.withUnsafeMutableBufferPointer { pdx in
                gradient.scalars.withUnsafeBufferPointer { pg in
                    for plane in 0..<planes {
                        let image = pdx.baseAddress! + plane * g.inputPlane
                        g.forEachWindow { p, rows, cols in
                            let share = pg[plane * g.outputPlane + p] / Float(rows.count * cols.count)
                            for r in rows { for c in cols { image[r * g.width + c] += share } }
                        }
                    }
                }
            }
            tape.accumulate(dx, into: x)
        }
    }

    /// Mean over each channel's whole plane: x (B, C, H, W) → (B, C).
    public func globalAveragePool(_ x: Variable) -> Variable {
        let input = x.value
        precondition(input.rank == 4, "global average pooling expects (B, C, H, W), got \(input.shape)")
        let planes = input.shape[0] * input.shape[1], size = input.shape[2] * input.shape[3]
        let y = Tensor(shape: [input.shape[0], input.shape[1]]) { out in
            input.scalars.withUnsafeBufferPointer { px in
                for plane in 0..<planes {
                    var total: Float = 0
                    for i in 0..<size { total += px[plane * size + i] }
                    out[plane] = total / Float(size)
                }
            }
        }
        return record(y, inputs: [x]) { tape, gradient in
            let dx = Tensor(shape: input.shape) { out in
                for plane in 0..<planes {
                    (out.baseAddress! + plane * size).update(repeating: gradient.scalars[plane] / Float(size), count: size)
                }
            }
            tape.accumulate(dx, into: x)
        }
    }

    private func checkPoolInput(_ input: Tensor, _ g: WindowGeometry) {
        precondition(input.rank == 4 && input.shape[1] == g.channels && input.shape[2] == g.height && input.shape[3] == g.width,
                     "pooling expects (B, \(g.channels), \(g.height), \(g.width)), got \(input.shape)")
    }
}

extension WindowGeometry {
    /// Input rows (or columns) inside the input that output position `output` covers.
    func windowRange(output: Int, stride: Int, pad: Int, kernel: Int, size: Int) -> Range<Int> {
        let start = output * stride - pad
        return Swift.max(start, 0)..<Swift.min(start + kernel, size)
    }

    /// Calls `body` with each output pixel's flat index and its window's input rows and columns.
    func forEachWindow(_ body: (Int, Range<Int>, Range<Int>) -> Void) {
        for oh in 0..<outputHeight {
            let rows = windowRange(output: oh, stride: strideHeight, pad: padTop, kernel: kernelHeight, size: height)
            for ow in 0..<outputWidth {
                body(oh * outputWidth + ow, rows, windowRange(output: ow, stride: strideWidth, pad: padLeft, kernel: kernelWidth, size: width))
            }
        }
    }
}
