/// The shape of one matrix product a tape runs, `C(m×n) = op(A)(m×k) · op(B)(k×n)`, or of
/// a batch of `batch` such products run as one call (attention's per-(sample, head)
/// products): the key under which a kernel is chosen for it.
public struct MatrixProductShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public var transposeA: Bool, transposeB: Bool
    public var m: Int, n: Int, k: Int
    public var batch: Int

    public init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, batch: Int = 1) {
        (self.transposeA, self.transposeB, self.m, self.n, self.k, self.batch) = (transposeA, transposeB, m, n, k, batch)
    }

    /// "nt 2048x128x128", "128 x tn 64x32x64" for a batch (n: as stored, t: transposed).
    public var description: String {
        let product = "\(transposeA ? "t" : "n")\(transposeB ? "t" : "n") \(m)x\(n)x\(k)"
        return batch > 1 ? "\(batch) x \(product)" : product
    }

    /// Floating-point operations of the product(s): 2·m·n·k each.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }

    enum CodingKeys: String, CodingKey {
        case transposeA = "transpose_a", transposeB = "transpose_b", m, n, k, batch
    }
}

/// Which library runs a Float32 matrix product.
public enum MatrixProductKernelName: String, Codable, Sendable, CaseIterable {
    case openblas
    case onednn
}

/// The library chosen for one product shape: what `state.json` lists under `matrix_products`.
public typealias MatrixProductChoice = KernelChoice<MatrixProductShape, MatrixProductKernelName>

/// The library a Float32 product runs on when no timing chose one for its shape.
public enum MatrixProductRule: Sendable {
    case openblas
    case onednn
    /// oneDNN when every side of the product is at least `minimumSide`, else OpenBLAS.
    /// Measured here (one thread, best of 15, AVX-512): oneDNN's brgemm 5–25% faster on
    /// every Transformer, MLP and LSTM product with all sides ≥ 32, and a batch of
    /// attention's 64×64×32 products as one call 1.4× OpenBLAS called per pair; OpenBLAS
    /// faster when a side is about 10 (a 10-class head's weight gradient 92 against 76
    /// GFLOP/s, 32×10×128 88 against 53).
    case bySize

    public static let minimumSide = 16

    public func kernel(for shape: MatrixProductShape) -> MatrixProductKernelName {
        switch self {
        case .openblas: return .openblas
        case .onednn: return .onednn
        case .bySize: return min(shape.m, shape.n, shape.k) >= Self.minimumSide ? .onednn : .openblas
        }
    }
}
