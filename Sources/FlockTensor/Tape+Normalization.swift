import Foundation

/// How a batch normalization node gets its statistics.
public enum BatchStatistics {
    /// From this batch (training): the running statistics are updated with `momentum`
    /// (PyTorch's convention: new = (1 − m)·old + m·batch, the variance unbiased; momentum 0
    /// leaves them as they are).
    /// `sumAcrossRanks`, when given, sums a vector over the data-parallel group in place,
    /// so every rank normalizes with the statistics of the global batch (synchronized
    /// batch normalization); backward sums its two reductions the same way.
    case batch(momentum: Float, sumAcrossRanks: ((inout [Double]) -> Void)?)
    /// From the running statistics (inference).
    case running
}

/// Normalization ops: batch normalization over (batch, spatial) per channel, and
/// normalization over contiguous segments of each sample (layer and group normalization).
extension Tape {
    /// y = γ·(x − μ)/√(σ² + ε) + β per channel, x (B, C, …): μ, σ² over B and the spatial
    /// positions. `runningMean`, `runningVariance` are buffers of C values.
    public func batchNormalization(_ x: Variable, scale: ParameterSlot, shift: ParameterSlot,
                                   runningMean: BufferSlot, runningVariance: BufferSlot,
                                   statistics: BatchStatistics, epsilon: Float = 1e-5) -> Variable {
        let input = x.value
        let channels = scale.count
        precondition(input.rank >= 2 && input.shape[1] == channels, "batch normalization \(scale.name) of \(channels) channels got \(input.shape)")
        let layout = ChannelLayout(batch: input.shape[0], channels: channels, spatial: input.count / Swift.max(input.shape[0] * channels, 1))
        let store = parameters
        let mean: [Float], inverseDeviation: [Float], count: Double
        let reduceBackward: ((inout [Double]) -> Void)?
        switch statistics {
        case .batch(let momentum, let sumAcrossRanks):
            var sums = layout.channelSums(input) + [Double(layout.batch * layout.spatial)]
            sumAcrossRanks?(&sums)
            count = sums[2 * channels]
            let means = (0..<channels).map { sums[$0] / count }
            let variances = (0..<channels).map { Swift.max(sums[channels + $0] / count - means[$0] * means[$0], 0) }
            mean = means.map(Float.init)
            inverseDeviation = variances.map { Float(1 / (($0 + Double(epsilon)).squareRoot())) }
            let unbiased = count > 1 ? count / (count - 1) : 1
            // Momentum 0: a forward run again for backward (recomputation) leaves them alone.
            if momentum != 0 {
                store.withBuffer(runningMean) { rm in
                    for c in 0..<channels { rm[c] = (1 - momentum) * rm[c] + momentum * mean[c] }
                }
                store.withBuffer(runningVariance) { rv in
                    for c in 0..<channels { rv[c] = (1 - momentum) * rv[c] + momentum * Float(variances[c] * unbiased) }
                }
            }
            reduceBackward = sumAcrossRanks
        case .running:
            mean = store.value(of: runningMean).scalars
            inverseDeviation = store.value(of: runningVariance).scalars.map { 1 / ($0 + epsilon).squareRoot() }
            count = 0
            reduceBackward = nil
        }
        let gamma = store.value(of: scale).scalars, beta = store.value(of: shift).scalars
        let normalized = layout.map(input) { c, v in (v - mean[c]) * inverseDeviation[c] }
        let y = layout.map(normalized) { c, v in gamma[c] * v + beta[c] }
        let inputNeedsGradient = x.requiresGradient
        let node = recordWithWeights(y, inputBackward: { tape, g in
            guard inputNeedsGradient else { return }
            guard count > 0 else {
                // Running statistics are constants: dx = γ·g/σ.
                tape.accumulate(layout.map(g) { c, v in v * gamma[c] * inverseDeviation[c] }, into: x)
                return
            }
            // dx = γ/(σ·n) · (n·g − Σg − x̂·Σ(g·x̂)), sums over the (global) batch.
            var sums = layout.channelSums(g, weightedBy: normalized)
            reduceBackward?(&sums)
            let n = Float(count)
            let dx = layout.map(g, normalized) { c, gv, xv in
                gamma[c] * inverseDeviation[c] / n * (n * gv - Float(sums[c]) - xv * Float(sums[channels + c]))
            }
            tape.accumulate(dx, into: x)
        }, weightBackward: { tape, g in
            let sums = layout.channelSums(g, weightedBy: normalized)
            tape.accumulateParameterGradient(shift) { db in for c in 0..<channels { db[c] += Float(sums[c]) } }
            tape.accumulateParameterGradient(scale) { dg in for c in 0..<channels { dg[c] += Float(sums[channels + c]) } }
        })
        noteUse(of: scale, atNode: node.id)
        noteUse(of: shift, atNode: node.id)
        return node
    }

    /// Normalizes each run of `segmentLength` contiguous values of x (per sample:
    /// layer normalization over trailing axes, or a group of channels) to zero mean and
    /// unit variance, then applies γ, β of `channel` = (flat index / `spatial`) mod C.
    public func segmentNormalization(_ x: Variable, segmentLength: Int, spatial: Int,
                                     scale: ParameterSlot, shift: ParameterSlot, epsilon: Float = 1e-5) -> Variable {
        let input = x.value
        let channels = scale.count
        precondition(segmentLength > 0 && input.count % segmentLength == 0, "segment of \(segmentLength) in \(input.shape)")
        if spatial == 1 && segmentLength == channels {
            return rowNormalization(x, scale: scale, shift: shift, epsilon: epsilon)
        }
        let segments = input.count / segmentLength
        let store = parameters
        let gamma = store.value(of: scale).scalars, beta = store.value(of: shift).scalars
        var inverseDeviation = [Float](repeating: 0, count: segments)
        var normalized = input
        normalized.scalars.withUnsafeMutableBufferPointer { px in
            for s in 0..<segments {
                let segment = UnsafeMutableBufferPointer(rebasing: px[(s * segmentLength)..<((s + 1) * segmentLength)])
                var total = 0.0, squares = 0.0
                for v in segment { total += Double(v); squares += Double(v) * Double(v) }
                let mean = total / Double(segmentLength)
                let variance = Swift.max(squares / Double(segmentLength) - mean * mean, 0)
                let inverse = Float(1 / (variance + Double(epsilon)).squareRoot())
                inverseDeviation[s] = inverse
                for i in segment.indices { segment[i] = (segment[i] - Float(mean)) * inverse }
            }
        }
        let channelOf = ChannelWalk(spatial: spatial, channels: channels)
        let y = Tensor(shape: input.shape) { out in
            normalized.scalars.withUnsafeBufferPointer { pn in
                channelOf.forEach(0..<input.count) { i, c in out[i] = gamma[c] * pn[i] + beta[c] }
            }
        }
        let inputNeedsGradient = x.requiresGradient
        let node = recordWithWeights(y, inputBackward: { tape, g in
            guard inputNeedsGradient else { return }
            // Per segment, with d = γ·g: dx = (d − mean(d) − x̂·mean(d·x̂)) / σ.
            let dx = Tensor(shape: input.shape) { out in
                g.scalars.withUnsafeBufferPointer { pg in
                    normalized.scalars.withUnsafeBufferPointer { pn in
                        for s in 0..<segments {
                            let range = (s * segmentLength)..<((s + 1) * segmentLength)
                            var meanD = 0.0, meanDX = 0.0
                            channelOf.forEach(range) { i, c in
                                let d = Double(pg[i] * gamma[c])
                                meanD += d
                                meanDX += d * Double(pn[i])
                            }
                            let (shiftD, shiftDX) = (Float(meanD / Double(segmentLength)), Float(meanDX / Double(segmentLength)))
                            let inverse = inverseDeviation[s]
                            channelOf.forEach(range) { i, c in out[i] = (pg[i] * gamma[c] - shiftD - pn[i] * shiftDX) * inverse }
                        }
                    }
                }
            }
            tape.accumulate(dx, into: x)
        }, weightBackward: { tape, g in
            var dGamma = [Double](repeating: 0, count: channels), dBeta = [Double](repeating: 0, count: channels)
            g.scalars.withUnsafeBufferPointer { pg in
                normalized.scalars.withUnsafeBufferPointer { pn in
                    channelOf.forEach(0..<input.count) { i, c in
                        dBeta[c] += Double(pg[i])
                        dGamma[c] += Double(pg[i] * pn[i])
                    }
                }
            }
            tape.accumulateParameterGradient(shift) { db in for c in 0..<channels { db[c] += Float(dBeta[c]) } }
            tape.accumulateParameterGradient(scale) { dg in for c in 0..<channels { dg[c] += Float(dGamma[c]) } }
        })
        noteUse(of: scale, atNode: node.id)
        noteUse(of: shift, atNode: node.id)
        return node
    }
}

/// The channel of each element of a (…, C, S) tensor, walked in order with counters
/// instead of a division and a remainder per element.
struct ChannelWalk {
    let spatial: Int
    let channels: Int

    /// Calls `body(i, channel of i)` for every i in `range`, in order.
    @inline(__always)
    func forEach(_ range: Range<Int>, _ body: (Int, Int) -> Void) {
        guard !range.isEmpty else { return }
        var channel = (range.lowerBound / spatial) % channels, position = range.lowerBound % spatial
        for i in range {
            body(i, channel)
            position += 1
            if position == spatial {
                position = 0
                channel += 1
                if channel == channels { channel = 0 }
            }
        }
    }
}

/// Index arithmetic of a (B, C, S) tensor: per-channel sums and elementwise maps that
/// know each element's channel.
struct ChannelLayout {
    let batch: Int
    let channels: Int
    let spatial: Int

    /// [Σ x per channel, Σ x² per channel] (2C values), or with `weightedBy` w:
    /// [Σ x, Σ x·w].
    func channelSums(_ x: Tensor, weightedBy w: Tensor? = nil) -> [Double] {
        var sums = [Double](repeating: 0, count: 2 * channels)
        x.scalars.withUnsafeBufferPointer { px in
            let weights = w?.scalars ?? x.scalars
            weights.withUnsafeBufferPointer { pw in
                for b in 0..<batch {
                    for c in 0..<channels {
                        let base = (b * channels + c) * spatial
                        var total: Float = 0, products: Float = 0
                        for s in base..<(base + spatial) {
                            total += px[s]
                            products += px[s] * pw[s]
                        }
                        sums[c] += Double(total)
                        sums[channels + c] += Double(products)
                    }
                }
            }
        }
        return sums
    }

    func map(_ x: Tensor, _ transform: (Int, Float) -> Float) -> Tensor {
        Tensor(shape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { px in
                for b in 0..<batch {
                    for c in 0..<channels {
                        let base = (b * channels + c) * spatial
                        for s in base..<(base + spatial) { out[s] = transform(c, px[s]) }
                    }
                }
            }
        }
    }

    func map(_ x: Tensor, _ y: Tensor, _ transform: (Int, Float, Float) -> Float) -> Tensor {
        Tensor(shape: x.shape) { out in
            x.scalars.withUnsafeBufferPointer { px in
                y.scalars.withUnsafeBufferPointer { py in
                    for b in 0..<batch {
                        for c in 0..<channels {
                            let base = (b * channels + c) * spatial
                            for s in base..<(base + spatial) { out[s] = transform(c, px[s], py[s]) }
                        }
                    }
                }
            }
        }
    }
}
