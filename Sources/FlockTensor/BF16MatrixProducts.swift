import CDNNL

/// bf16 matrix products with Float32 accumulation and Float32 output, on oneDNN's matmul
/// (brgemm kernels on AVX512-BF16 or AMX): each Float32 operand is rounded to bf16
/// (nearest, ties to even) into a buffer this object keeps, then multiplied.
///
/// One per rank (it keeps primitives per shape, buffers and a stream, and is used by one
/// thread at a time). Products too thin to gain stay on `sgemm`: oneDNN's bf16 kernel is
/// slower than OpenBLAS when the output has fewer than `minimumColumns` columns (a
/// 10-class head: 17 against 38 GFLOP/s measured here), so those run in Float32 — a rule
/// of the shape alone, the same on every rank.
///
/// Threads: Debian's oneDNN runs its parallel regions on OpenMP (libgomp), apart from
/// OpenBLAS's pthreads pool. `threads` sets the calling thread's OpenMP team before every
/// product (`omp_set_num_threads` is per thread), so each rank of a ranks-as-threads job
/// keeps its own share of the cores, as its BLAS threads do.
public final class BF16MatrixProducts: MatrixProductKernel {
    /// Outputs narrower than this multiply in Float32.
    public static let minimumColumns = 16

    public let threads: Int
    private let context: OneDNNContext
    private var engine: dnnl_engine_t { context.engine }
    private var stream: dnnl_stream_t { context.stream }
    /// nil for a shape oneDNN cannot run here (it then runs on sgemm).
    private var primitives: [OneDNNMatmulPrimitive.Shape: OneDNNMatmulPrimitive?] = [:]
    /// nil for a shape oneDNN cannot reorder (it is then rounded by `BF16.convert`).
    private var roundings: [BF16RoundingPrimitive.Shape: BF16RoundingPrimitive?] = [:]
    private var left = BF16Buffer(), right = BF16Buffer()

    /// Throws when oneDNN has no CPU engine (a broken installation).
    public init(threads: Int = 1) throws {
        precondition(threads >= 1, "bf16 products need at least one thread, got \(threads)")
        self.threads = threads
        context = try OneDNNContext()
    }

    deinit {
        // The primitives before the engine they were made on.
        primitives.removeAll()
        roundings.removeAll()
    }

    /// `C(m×n) = alpha · op(A)(m×k) · op(B)(k×n) + beta · C` with A and B rounded to bf16;
    /// row-major with `BLAS.gemm`'s arguments.
    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Operands stay in their stored order (a transposed one is a `ba` layout to oneDNN):
        // transposing A while rounding it was measured no faster (CPU time of the MLP and
        // Transformer benches within noise), since brgemm repacks its operands' blocks anyway,
        // while a transposing reorder reads Float32 with strides (4x slower for 128×2048).
        // The rounded operands are dense: their leading dimension is their stored row's length.
        guard let primitive = productPrimitive(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                               alpha: alpha, beta: beta, ldc: ldc) else {
            BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        // Stored order: A is (m, k), or (k, m) when transposed; B is (k, n) or (n, k).
        omp_set_num_threads(Int32(threads))
        let leftBits = round(a, rows: transposeA ? k : m, columns: transposeA ? m : k, stride: lda, into: &left)
        let rightBits = round(b, rows: transposeB ? n : k, columns: transposeB ? k : n, stride: ldb, into: &right)
        primitive.execute(a: leftBits, b: rightBits, c: c, stream: stream)
    }

    /// Runs `batch` as one oneDNN call: each operand's whole span rounded to bf16 at once
    /// (its strides kept), then one 4-D matmul. False (nothing run) for an output under
    /// `minimumColumns` or a shape oneDNN cannot run; the caller multiplies pair by pair.
    func batchedGemmOnOneDNN(_ batch: MatrixProductBatch, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>) -> Bool {
        guard batch.m > 0, batch.k > 0, batch.n >= Self.minimumColumns,
              let primitive = primitive(for: batch.primitiveShape(inputs: .bf16)) else { return false }
        omp_set_num_threads(Int32(threads))
        let (aSpan, bSpan) = batch.operandSpans
        let leftBits = round(a, rows: 1, columns: aSpan, stride: aSpan, into: &left)
        let rightBits = round(b, rows: 1, columns: bSpan, stride: bSpan, into: &right)
        primitive.execute(a: leftBits, b: rightBits, c: c, stream: stream)
        return true
    }

    /// The dense op's forward as `Float32MatrixProducts.fusedLinearOnOneDNN` runs it, with x
    /// and W rounded to bf16 first; false (nothing written) for an output under
    /// `minimumColumns` or a shape oneDNN cannot run.
    func fusedLinearOnOneDNN(rows: Int, outputs: Int, inputs: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             bias: UnsafePointer<Float>?, relu: Bool, into y: UnsafeMutablePointer<Float>) -> Bool {
        guard let primitive = fusedLinearPrimitive(rows: rows, outputs: outputs, inputs: inputs, bias: bias != nil, relu: relu) else {
            return false
        }
        omp_set_num_threads(Int32(threads))
        let leftBits = round(x, rows: rows, columns: inputs, stride: inputs, into: &left)
        let rightBits = round(weight, rows: outputs, columns: inputs, stride: inputs, into: &right)
        primitive.execute(a: leftBits, b: rightBits, c: y, bias: bias, stream: stream)
        return true
    }

    /// `rows × columns` dense Float32 values rounded to bf16 once, to be multiplied several
    /// times (`gemm(…, a: BF16Operand, b: BF16Operand, …)`).
    public func rounded(_ source: UnsafePointer<Float>, rows: Int, columns: Int) -> BF16Operand {
        let operand = BF16Operand(count: rows * columns)
        omp_set_num_threads(Int32(threads))
        round(source, rows: rows, columns: columns, stride: columns, into: operand.bits)
        return operand
    }

    /// `gemm` on operands already rounded (each dense in its stored order, as `gemm` rounds
    /// them), so the product is the one `gemm` makes from their Float32 values; false
    /// (nothing written) where `gemm` would multiply the shape in Float32.
    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: BF16Operand, b: BF16Operand,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        precondition(a.count == m * k && b.count == k * n, "rounded operands of \(a.count) and \(b.count) values for a \(m)×\(k)·\(k)×\(n) product")
        guard let primitive = productPrimitive(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                               alpha: 1, beta: beta, ldc: ldc) else { return false }
        omp_set_num_threads(Int32(threads))
        primitive.execute(a: a.bits, b: b.bits, c: c, stream: stream)
        return true
    }

    /// `fusedLinearOnOneDNN` on x (rows, inputs) and W (outputs, inputs) already rounded.
    public func fusedLinear(rows: Int, outputs: Int, inputs: Int, x: BF16Operand, weight: BF16Operand,
                            bias: UnsafePointer<Float>?, relu: Bool, into y: UnsafeMutablePointer<Float>) -> Bool {
        precondition(x.count == rows * inputs && weight.count == outputs * inputs, "rounded operands do not match the dense op's shape")
        guard let primitive = fusedLinearPrimitive(rows: rows, outputs: outputs, inputs: inputs, bias: bias != nil, relu: relu) else {
            return false
        }
        omp_set_num_threads(Int32(threads))
        primitive.execute(a: x.bits, b: weight.bits, c: y, bias: bias, stream: stream)
        return true
    }

    /// 4-D primitives made so far (batches run as one call).
    var batchedPrimitivesMade: Int { primitives.filter { $0.key.outer * $0.key.inner > 1 && $0.value != nil }.count }

    /// `rows` rows of `columns` Float32 values `stride` apart, rounded to bf16 into
    /// `buffer`, dense. oneDNN's reorder where it has one (vectorized for this CPU; Swift
    /// code is compiled for baseline x86-64), `BF16.convert` otherwise.
    private func round(_ source: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int,
                       into buffer: inout BF16Buffer) -> UnsafePointer<UInt16> {
        let target = buffer.reserve(rows * columns)
        round(source, rows: rows, columns: columns, stride: stride, into: target)
        return UnsafePointer(target)
    }

    private func round(_ source: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int,
                       into target: UnsafeMutablePointer<UInt16>) {
        let shape = BF16RoundingPrimitive.Shape(rows: rows, columns: columns, stride: stride)
        let rounding: BF16RoundingPrimitive?
        if let cached = roundings[shape] { rounding = cached } else {
            rounding = BF16RoundingPrimitive(shape, engine: engine)
            roundings[shape] = .some(rounding)
        }
        if let rounding {
            rounding.execute(source, into: target, stream: stream)
        } else {
            for row in 0..<rows { BF16.convert(source + row * stride, to: target + row * columns, count: columns) }
        }
    }

    /// The primitive for a product of operands rounded dense in their stored order; nil
    /// where it runs in Float32 (an output under `minimumColumns`, or no oneDNN kernel).
    private func productPrimitive(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
                                  ldc: Int) -> OneDNNMatmulPrimitive? {
        guard m > 0, k > 0, n >= Self.minimumColumns else { return nil }
        return primitive(for: OneDNNMatmulPrimitive.Shape(inputs: .bf16, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                                          lda: transposeA ? m : k, ldb: transposeB ? k : n, ldc: ldc,
                                                          alpha: alpha, beta: beta))
    }

    /// The dense op's fused forward (x · Wᵀ, bias, ReLU) on rounded x and W; nil as above.
    private func fusedLinearPrimitive(rows: Int, outputs: Int, inputs: Int, bias: Bool, relu: Bool) -> OneDNNMatmulPrimitive? {
        guard rows > 0, inputs > 0, outputs >= Self.minimumColumns else { return nil }
        var shape = OneDNNMatmulPrimitive.Shape(inputs: .bf16, transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs,
                                                lda: inputs, ldb: inputs, ldc: outputs, alpha: 1, beta: 0)
        (shape.bias, shape.relu) = (bias, relu)
        return primitive(for: shape)
    }

    private func primitive(for shape: OneDNNMatmulPrimitive.Shape) -> OneDNNMatmulPrimitive? {
        if let cached = primitives[shape] { return cached }
        omp_set_num_threads(Int32(threads))  // oneDNN sizes its blocking by the team it will get
        let made = OneDNNMatmulPrimitive(shape, engine: engine)
        primitives[shape] = .some(made)
        return made
    }
}

/// A oneDNN call that failed for a reason a person can act on (installation, CPU).
public struct OneDNNError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A growing bf16 buffer an operand is rounded into, dense in its stored order.
private struct BF16Buffer {
    private var storage = UnsafeMutablePointer<UInt16>.allocate(capacity: 0)
    private var capacity = 0

    /// Room for `count` values; the old contents are not kept.
    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<UInt16> {
        if count > capacity {
            storage.deallocate()
            storage = .allocate(capacity: count)
            capacity = count
        }
        return storage
    }
}
