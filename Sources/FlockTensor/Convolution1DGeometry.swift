/// How a 1-D convolution's kernel covers a (T, C) sequence: kernel taps, the dilation
/// between them, the zero padding before the first step and the output length.
///
/// A kernel of K taps with dilation d spans (K − 1)·d + 1 steps. Output step t reads input
/// steps t + k·d − padBefore for k in 0..<K (zero outside the sequence):
/// - `causal` pads the whole span minus one before the sequence, so output t reads inputs
///   t − (K − 1)·d … t only, and T' = T (WaveNet; Keras' `padding="causal"`);
/// - `same` pads ⌊(span − 1)/2⌋ before and the rest after, T' = T (PyTorch's `"same"`);
/// - `valid` pads nothing, T' = T − span + 1.
public struct Convolution1DGeometry: Sendable, Equatable {
    public let steps: Int
    public let channels: Int
    public let kernel: Int
    public let dilation: Int
    public let padBefore: Int
    public let outputSteps: Int

    /// Causal, SAME or VALID padding.
    public enum Padding: String, Sendable, Codable, CaseIterable {
        case causal, same, valid
    }

    /// The geometry for (`steps`, `channels`) inputs, or nil when the sizes are not
    /// positive or a VALID kernel spans more steps than the sequence has.
    public init?(steps: Int, channels: Int, kernel: Int, dilation: Int, padding: Padding) {
        guard steps > 0, channels > 0, kernel > 0, dilation > 0 else { return nil }
        (self.steps, self.channels, self.kernel, self.dilation) = (steps, channels, kernel, dilation)
        let span = (kernel - 1) * dilation + 1
        switch padding {
        case .causal: (padBefore, outputSteps) = (span - 1, steps)
        case .same: (padBefore, outputSteps) = ((span - 1) / 2, steps)
        case .valid:
            guard span <= steps else { return nil }
            (padBefore, outputSteps) = (0, steps - span + 1)
        }
    }

    /// Steps one output reads from first to last tap: (K − 1)·d + 1.
    public var span: Int { (kernel - 1) * dilation + 1 }

    /// The input step output `t` reads at tap `k`; outside 0..<steps it is padding.
    @inline(__always)
    func inputStep(output t: Int, tap k: Int) -> Int { t + k * dilation - padBefore }
}
