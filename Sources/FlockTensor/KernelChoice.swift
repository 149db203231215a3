/// The kernel chosen at start-up for one shape of an operation (a convolution, a matrix
/// product): what `state.json` lists, so a resume runs what the run started with.
public struct KernelChoice<Shape: Codable & Sendable & Equatable, Kernel: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var shape: Shape
    public var kernel: Kernel

    public init(shape: Shape, kernel: Kernel) {
        self.shape = shape
        self.kernel = kernel
    }
}
