import FlockTensor
import Foundation

/// Softmax cross-entropy per position of a sequence, padding left out:
/// `{name: sequence_cross_entropy, padding_id: 0, target: tokens, output: decoder}` compares
/// logits (B, T, V) with token ids (B, T) (a graph input's columns), and is the mean of
/// −log softmax(z_bt)[y_bt] over the positions whose target is not `padding_id`.
///
/// Under data parallelism the mean is over every rank's real tokens (ranks hold different
/// numbers of them): each rank gathers the (loss sum, token count, samples) of all, reports
/// the global mean, and scales its gradient so the data group's sample-weighted average is
/// the global mean's gradient. So `--ranks N` trains what one rank trains.
public struct SequenceCrossEntropyLoss: GlobalBatchLoss {
    public static let typeName = "sequence_cross_entropy"
    /// The target id that marks padding (nil: every position counts).
    public var paddingID: Int?

    enum CodingKeys: String, CodingKey, CaseIterable { case paddingID = "padding_id" }

    public init() {}

    public init(paddingID: Int?) { self.paddingID = paddingID }

    public init(from decoder: any Decoder) throws {
        let c = try Self.container(decoder, CodingKeys.self)
        paddingID = try c.decodeIfPresent(Int.self, forKey: .paddingID)
    }

    public func validate(path: String) throws {
        if let paddingID { try Check.within(paddingID, 0, 1 << 24, "\(path).padding_id") }
    }

    /// Logits per position: no metric reads them as one value or one class per sample.
    public var reading: OutputReading { .values }
    public var readsClassLabels: Bool { true }
    public var scoresEachTarget: Bool { true }

    public func callAsFunction(_ prediction: Variable, target: Tensor, gather: BatchGather?) -> Variable {
        let tape = prediction.tape, positions = target.count, samples = prediction.shape[0]
        let classes = prediction.value.count / max(positions, 1)
        precondition(positions > 0 && classes * positions == prediction.value.count,
                     "sequence cross-entropy needs logits (B, T, V) for targets (B, T), got \(prediction.shape) and \(target.shape)")
        let logits = tape.reshape(prediction, to: [positions, classes])
        let labels = target.scalars.map { Int($0) }
        let probabilities = Tensor.softmaxLastAxis(logits.value)
        var sum = 0.0, count = 0
        for (row, label) in labels.enumerated() where label != paddingID {
            precondition(label >= 0 && label < classes, "token \(label) outside the \(classes) logits of each position")
            sum -= Double(Foundation.log(Swift.max(probabilities.scalars[row * classes + label], .leastNormalMagnitude)))
            count += 1
        }
        let local: [Float] = [Float(sum), Float(count), Float(samples)]
        let all = gather?.gather(local, width: 3)?.values ?? local
        let total = (0..<3).map { column in stride(from: column, to: all.count, by: 3).reduce(0) { $0 + Double(all[$1]) } }
        let value = total[1] > 0 ? Float(total[0] / total[1]) : 0
        // d/dz of this rank's share, times (global samples / own samples) for the group's average.
        let scale = total[1] > 0 ? Float(total[2] / Double(samples) / total[1]) : 0
        let pad = paddingID
        return tape.record(Tensor(scalar: value), inputs: [logits]) { tape, g in
            var dz = probabilities
            dz.scalars.withUnsafeMutableBufferPointer { out in
                for (row, label) in labels.enumerated() {
                    let base = row * classes
                    guard label != pad else {
                        for c in 0..<classes { out[base + c] = 0 }
                        continue
                    }
                    out[base + label] -= 1
                    for c in 0..<classes { out[base + c] *= scale * g.scalar }
                }
            }
            tape.accumulate(dz, into: logits)
        }
    }
}
