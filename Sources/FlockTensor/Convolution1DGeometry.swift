/// How a 1-D convolution's kernel covers a (T, C) sequence: kernel taps, the dilation
/// between them, the stride between outputs, the zero padding before the first step and
/// the output length.
///
/// A kernel of K taps with dilation d spans (K − 1)·d + 1 steps. Output step t reads input
/// steps t·s + k·d − padBefore for k in 0..<K with stride s (zero outside the sequence):
/// - `causal` pads the whole span minus one before the sequence, so output t reads inputs
///   t·s − (K − 1)·d … t·s only, and T' = ⌈T/s⌉ (WaveNet; Keras' `padding="causal"`);
/// - `same` gives T' = ⌈T/s⌉ and pads what the last output reads past the end, the
///   smaller half before (TensorFlow's and Keras' `"same"`; PyTorch's at stride 1);
/// - `valid` pads nothing, T' = ⌊(T − span)/s⌋ + 1.
public struct Convolution1DGeometry: Sendable, Equatable {
    public let steps: Int
    public let channels: Int
    public let kernel: Int
    public let dilation: Int
    public let stride: Int
    public let padBefore: Int
    public let outputSteps: Int

    /// Causal, SAME or VALID padding.
    public enum Padding: String, Sendable, Codable, CaseIterable {
        case causal, same, valid
    }

    /// The geometry for (`steps`, `channels`) inputs, or nil when the sizes are not
    /// positive or a VALID kernel spans more steps than the sequence has.
    public init?(steps: Int, channels: Int, kernel: Int, dilation: Int, stride: Int = 1, padding: Padding) {
        guard steps > 0, channels > 0, kernel > 0, dilation > 0, stride > 0 else { return nil }
        (self.steps, self.channels, self.kernel, self.dilation, self.stride) = (steps, channels, kernel, dilation, stride)
        let span = (kernel - 1) * dilation + 1
        switch padding {
        case .causal: (padBefore, outputSteps) = (span - 1, (steps - 1) / stride + 1)
        case .same:
            let outputs = (steps - 1) / stride + 1
            (padBefore, outputSteps) = (Swift.max((outputs - 1) * stride + span - steps, 0) / 2, outputs)
        case .valid:
            guard span <= steps else { return nil }
            (padBefore, outputSteps) = (0, (steps - span) / stride + 1)
        }
    }

    /// Steps one output reads from first to last tap: (K − 1)·d + 1.
    public var span: Int { (kernel - 1) * dilation + 1 }

    /// The input step output `t` reads at tap `k`; outside 0..<steps it is padding.
    @inline(__always)
    func inputStep(output t: Int, tap k: Int) -> Int { t * stride + k * dilation - padBefore }
}
