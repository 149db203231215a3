extension Tape {
    /// Layer normalization of each row of x (…, C) over its C values, then γ, β (C): the
    /// `segmentNormalization` case of one segment per row, on `RowNormalizationKernels`.
    func rowNormalization(_ x: Variable, scale: ParameterSlot, shift: ParameterSlot, epsilon: Float) -> Variable {
        let input = x.value
        let width = scale.count, rows = input.count / width
        let store = parameters
        var normalized = input
        let inverseDeviation = normalized.scalars.withUnsafeMutableBufferPointer { px in
            RowNormalizationKernels.normalizeRows(px.baseAddress!, rows: rows, width: width, epsilon: epsilon)
        }
        let y = makeTensor(shape: input.shape, uninitializedFill: { out in
            normalized.scalars.withUnsafeBufferPointer { pn in
                store.withParameter(scale) { gamma in
                    store.withParameter(shift) { beta in
                        RowNormalizationKernels.scaleAndShift(pn.baseAddress!, gamma: gamma.baseAddress!, beta: beta.baseAddress!,
                                                              into: out.baseAddress!, rows: rows, width: width)
                    }
                }
            }
        })
        let inputNeedsGradient = x.requiresGradient
        let node = recordWithWeights(y, inputBackward: { tape, g in
            guard inputNeedsGradient else { return }
            let dx = tape.makeTensor(shape: input.shape, uninitializedFill: { out in
                g.scalars.withUnsafeBufferPointer { pg in
                    normalized.scalars.withUnsafeBufferPointer { pn in
                        store.withParameter(scale) { gamma in
                            RowNormalizationKernels.inputGradient(pg.baseAddress!, normalized: pn.baseAddress!, gamma: gamma.baseAddress!,
                                                                  inverseDeviation: inverseDeviation, into: out.baseAddress!,
                                                                  rows: rows, width: width)
                        }
                    }
                }
            })
            tape.accumulate(dx, into: x)
        }, weightBackward: { tape, g in
            var dGamma = [Float](repeating: 0, count: width), dBeta = [Float](repeating: 0, count: width)
            g.scalars.withUnsafeBufferPointer { pg in
                normalized.scalars.withUnsafeBufferPointer { pn in
                    RowNormalizationKernels.accumulateAffineGradients(pg.baseAddress!, normalized: pn.baseAddress!, rows: rows,
                                                                      width: width, dGamma: &dGamma, dBeta: &dBeta)
                }
            }
            tape.accumulateParameterGradient(shift) { db in for c in 0..<width { db[c] += dBeta[c] } }
            tape.accumulateParameterGradient(scale) { dg in for c in 0..<width { dg[c] += dGamma[c] } }
        })
        noteUse(of: scale, atNode: node.id)
        noteUse(of: shift, atNode: node.id)
        return node
    }
}
