extension MicroBatch {
    /// The micro-batch cut into `parts` consecutive pieces of rows (sizes differ by at most
    /// one, larger first), each seeded with its share of this micro-batch's weight, so the
    /// pieces' gradients add up to the whole micro-batch's.
    func split(into parts: Int) -> [MicroBatch] {
        let split = UnevenSplit(count: sampleCount, parts: parts)
        return (0..<parts).map { part in
            let rows = split.range(of: part)
            return MicroBatch(features: features.rows(rows), targets: targets.rows(rows),
                              gradientScale: gradientScale * Float(rows.count) / Float(sampleCount),
                              paddingMask: paddingMask?.rows(rows), sampleNoise: sampleNoise?.rows(rows))
        }
    }
}

extension MicroBatchOutcome {
    /// One outcome for consecutive pieces of a micro-batch: the sample-weighted mean loss
    /// and the outputs and targets in order.
    static func joining(_ pieces: [MicroBatchOutcome]) -> MicroBatchOutcome {
        let counts = pieces.map { $0.targets.shape.first ?? 0 }, total = counts.reduce(0, +)
        let loss = zip(pieces, counts).reduce(0.0) { $0 + Double($1.0.loss) * Double($1.1) } / Double(max(total, 1))
        return MicroBatchOutcome(loss: Float(loss), outputs: .concatenatingRows(pieces.map(\.outputs), featureShape: Array(pieces[0].outputs.shape.dropFirst())),
                                 targets: .concatenatingRows(pieces.map(\.targets), featureShape: Array(pieces[0].targets.shape.dropFirst())))
    }
}
