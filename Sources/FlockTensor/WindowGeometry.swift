/// How a sliding window (a convolution kernel or a pooling window) covers an NCHW input:
/// sizes, strides, padding and the output's spatial size.
///
/// SAME padding gives an output of ⌈H / stride⌉ rows and pads the total shortfall
/// split as TensorFlow does (the extra row, if odd, at the bottom/right); VALID pads
/// nothing and gives ⌊(H − k) / stride⌋ + 1 rows.
public struct WindowGeometry: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let strideHeight: Int
    public let strideWidth: Int
    public let padTop: Int
    public let padLeft: Int
    public let outputHeight: Int
    public let outputWidth: Int

    /// SAME or VALID padding.
    public enum Padding: String, Sendable, Codable, CaseIterable {
        case same, valid
    }

    /// The geometry for `channels`×`height`×`width` inputs, or nil when the window does
    /// not fit (VALID with a kernel larger than the input).
    public init?(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), padding: Padding) {
        guard channels > 0, height > 0, width > 0, kernel.0 > 0, kernel.1 > 0, stride.0 > 0, stride.1 > 0 else { return nil }
        self.channels = channels
        self.height = height
        self.width = width
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = stride
        switch padding {
        case .same:
            outputHeight = (height + stride.0 - 1) / stride.0
            outputWidth = (width + stride.1 - 1) / stride.1
            padTop = Swift.max((outputHeight - 1) * stride.0 + kernel.0 - height, 0) / 2
            padLeft = Swift.max((outputWidth - 1) * stride.1 + kernel.1 - width, 0) / 2
        case .valid:
            guard kernel.0 <= height, kernel.1 <= width else { return nil }
            outputHeight = (height - kernel.0) / stride.0 + 1
            outputWidth = (width - kernel.1) / stride.1 + 1
            padTop = 0
            padLeft = 0
        }
    }

    /// A geometry as recorded (`ConvolutionShape`): sizes, strides, top/left padding and
    /// output size as given.
    init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), pad: (Int, Int), output: (Int, Int)) {
        (self.channels, self.height, self.width) = (channels, height, width)
        (kernelHeight, kernelWidth, strideHeight, strideWidth) = (kernel.0, kernel.1, stride.0, stride.1)
        (padTop, padLeft, outputHeight, outputWidth) = (pad.0, pad.1, output.0, output.1)
    }

    /// Input pixels per channel (H·W).
    public var inputPlane: Int { height * width }
    /// Output pixels per channel (OH·OW).
    public var outputPlane: Int { outputHeight * outputWidth }
    /// Kernel taps (kh·kw).
    public var taps: Int { kernelHeight * kernelWidth }

    /// The output columns `ow` whose input column `ow·stride − padLeft + j` lies inside
    /// the input, for kernel column `j` (the same rule gives rows).
    func validOutputRange(tap: Int, stride: Int, pad: Int, inputSize: Int, outputSize: Int) -> Range<Int> {
        // Need 0 ≤ o·s − pad + tap < inputSize.
        let shift = pad - tap
        let low = shift <= 0 ? 0 : (shift + stride - 1) / stride
        let limit = inputSize + shift   // o·s < limit
        let high = limit <= 0 ? 0 : Swift.min((limit - 1) / stride + 1, outputSize)
        return low..<Swift.max(low, high)
    }
}
