/// What a convolution kernel is chosen for: the geometry, filters and groups of a
/// Conv2D call (not the batch size, so a short last batch runs on the same kernel).
public struct ConvolutionShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public var channels: Int, height: Int, width: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideHeight: Int, strideWidth: Int
    public var padTop: Int, padLeft: Int
    public var outputHeight: Int, outputWidth: Int
    public var filters: Int, groups: Int

    public init(geometry g: WindowGeometry, filters: Int, groups: Int) {
        (channels, height, width) = (g.channels, g.height, g.width)
        (kernelHeight, kernelWidth, strideHeight, strideWidth) = (g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth)
        (padTop, padLeft, outputHeight, outputWidth) = (g.padTop, g.padLeft, g.outputHeight, g.outputWidth)
        self.filters = filters
        self.groups = groups
    }

    var geometry: WindowGeometry {
        WindowGeometry(channels: channels, height: height, width: width, kernel: (kernelHeight, kernelWidth),
                       stride: (strideHeight, strideWidth), pad: (padTop, padLeft), output: (outputHeight, outputWidth))
    }

    /// Padding below and right that oneDNN needs for the same output size (SAME pads the
    /// odd row there; VALID's rows a stride leaves over are simply not read).
    var padBottom: Int { Swift.max((outputHeight - 1) * strideHeight + kernelHeight - height - padTop, 0) }
    var padRight: Int { Swift.max((outputWidth - 1) * strideWidth + kernelWidth - width - padLeft, 0) }

    /// "32×14×14 → 64, 3×3 stride 1, groups 1".
    public var description: String {
        "\(channels)×\(height)×\(width) → \(filters), \(kernelHeight)×\(kernelWidth) stride \(strideHeight)×\(strideWidth), groups \(groups)"
    }
}

/// How a convolution runs: Flock's im2col and one matrix product per group (sgemm, or
/// oneDNN's bf16 matmul under bf16), or oneDNN's convolution primitives.
public enum ConvolutionKernel: String, Codable, Sendable, CaseIterable {
    case im2col
    case onednn
}

/// The kernel chosen for one convolution shape: what `state.json` lists under `convolutions`.
public typealias ConvolutionChoice = KernelChoice<ConvolutionShape, ConvolutionKernel>
