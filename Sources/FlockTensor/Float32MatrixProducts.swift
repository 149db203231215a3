import CDNNL

/// Float32 matrix products on OpenBLAS `sgemm` or oneDNN's Float32 matmul, chosen per
/// product shape: what `MatrixProducts.float32PerShape` holds. One per rank (it keeps
/// primitives per shape and a oneDNN stream, and is used by one thread at a time).
///
/// A shape runs on the library `choices` names for it — filled at start-up under
/// `matrix_kernels: timed` (`MatrixProductTiming` measures both on rank 0, which
/// broadcasts what won) and kept by a resume — else on the one `rule` names, a rule of
/// the shape alone, so every rank agrees without asking.
///
/// Threads: as `BF16MatrixProducts` (the calling thread's OpenMP team set per product).
public final class Float32MatrixProducts: MatrixProductKernel {
    public let threads: Int
    /// The kernel each shape runs on.
    public var choices: [MatrixProductShape: MatrixProductKernelName] = [:]
    /// The library of a shape without a choice.
    public var rule: MatrixProductRule
    /// While true, each shape without a choice that runs is listed in `seenShapes` (the
    /// start-up survey); off otherwise, so that a product pays no set insertion.
    public var recordsShapes = false
    /// Every shape without a choice that ran while `recordsShapes`, in first-seen order.
    public private(set) var seenShapes: [MatrixProductShape] = []
    private var seen: Set<MatrixProductShape> = []
    private let context: OneDNNContext
    /// nil for a shape oneDNN cannot run here (it then runs on sgemm).
    private var primitives: [OneDNNMatmulPrimitive.Shape: OneDNNMatmulPrimitive?] = [:]
    /// Products whose weights are packed once for many calls (recurrent layers); nil as above.
    private var packedProducts: [OneDNNPackedMatmul.Shape: OneDNNPackedMatmul?] = [:]

    /// Throws when oneDNN has no CPU engine (a broken installation).
    public init(threads: Int = 1, rule: MatrixProductRule = .bySize) throws {
        precondition(threads >= 1, "matrix products need at least one thread, got \(threads)")
        self.threads = threads
        self.rule = rule
        context = try OneDNNContext()
    }

    deinit {
        // The primitives before the engine they were made on.
        primitives.removeAll()
        packedProducts.removeAll()
    }

    /// `choices` as `state.json` lists them, in a fixed order (by shape).
    public var choiceList: [MatrixProductChoice] {
        choices.map { MatrixProductChoice(shape: $0.key, kernel: $0.value) }.sorted { $0.shape.description < $1.shape.description }
    }

    /// `C(m×n) = alpha · op(A)(m×k) · op(B)(k×n) + beta · C`, row-major, as `BLAS.gemm`.
    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let key = MatrixProductShape(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
        let shape = OneDNNMatmulPrimitive.Shape(inputs: .float32, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                                lda: lda, ldb: ldb, ldc: ldc, alpha: alpha, beta: beta)
        guard kernel(for: key) == .onednn, let primitive = primitive(for: shape) else {
            BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        omp_set_num_threads(Int32(threads))
        primitive.execute(a: a, b: b, c: c, stream: context.stream)
    }

    /// The dense op's forward, `y(rows×outputs) = x · Wᵀ + bias` then ReLU if `relu`, as one
    /// oneDNN call (bias and ReLU inside the kernel's output pass) where the product's shape
    /// runs on oneDNN; false (nothing written) otherwise. x (rows, inputs), W (outputs, inputs).
    func fusedLinearOnOneDNN(rows: Int, outputs: Int, inputs: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             bias: UnsafePointer<Float>?, relu: Bool, into y: UnsafeMutablePointer<Float>) -> Bool {
        let key = MatrixProductShape(transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs)
        var shape = OneDNNMatmulPrimitive.Shape(inputs: .float32, transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs,
                                                lda: inputs, ldb: inputs, ldc: outputs, alpha: 1, beta: 0)
        (shape.bias, shape.relu) = (bias != nil, relu)
        guard rows > 0, kernel(for: key) == .onednn, let primitive = primitive(for: shape) else { return false }
        omp_set_num_threads(Int32(threads))
        primitive.execute(a: x, b: weight, c: y, bias: bias, stream: context.stream)
        return true
    }

    /// Runs the batch as one oneDNN call where its shape chose oneDNN; false (nothing
    /// run) otherwise, and the caller multiplies pair by pair on sgemm.
    func batchedGemmOnOneDNN(_ batch: MatrixProductBatch, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>) -> Bool {
        guard kernel(for: batch.shape) == .onednn, let primitive = primitive(for: batch.primitiveShape(inputs: .float32)) else {
            return false
        }
        omp_set_num_threads(Int32(threads))
        primitive.execute(a: a, b: b, c: c, stream: context.stream)
        return true
    }

    /// `weights` packed for products of `shape` (`MatrixProducts.repeatedProduct`), with
    /// the stream they run on, where the shape runs on oneDNN; nil: the caller multiplies
    /// with `gemm`. Packing again overwrites the copy a previous call of this shape packed.
    func packedProduct(_ shape: OneDNNPackedMatmul.Shape, weights: UnsafePointer<Float>) -> (OneDNNPackedMatmul, dnnl_stream_t)? {
        let key = MatrixProductShape(transposeA: shape.transposeA, transposeB: shape.transposeB, m: shape.m, n: shape.n, k: shape.k)
        guard shape.m > 0, shape.n > 0, shape.k > 0, kernel(for: key) == .onednn else { return nil }
        // oneDNN sizes its blocking by the team it will get, and runs on the calling thread's.
        omp_set_num_threads(Int32(threads))
        if packedProducts[shape] == nil { packedProducts[shape] = .some(OneDNNPackedMatmul(shape, engine: context.engine)) }
        guard let matmul = packedProducts[shape]! else { return nil }
        matmul.pack(weights, stream: context.stream)
        return (matmul, context.stream)
    }

    /// oneDNN primitives made so far (one per product shape, strides, alpha and beta run on it).
    var primitivesMade: Int { primitives.values.filter { $0 != nil }.count }
    /// Those with a bias or ReLU in their output pass (the dense op's forward).
    var fusedPrimitivesMade: Int { primitives.filter { ($0.key.bias || $0.key.relu) && $0.value != nil }.count }

    /// Whether oneDNN can run `shape` here (timing skips those it cannot).
    func oneDNNRuns(_ shape: OneDNNMatmulPrimitive.Shape) -> Bool { primitive(for: shape) != nil }

    private func kernel(for key: MatrixProductShape) -> MatrixProductKernelName {
        if let chosen = choices[key] { return chosen }
        if recordsShapes, seen.insert(key).inserted { seenShapes.append(key) }
        return rule.kernel(for: key)
    }

    private func primitive(for shape: OneDNNMatmulPrimitive.Shape) -> OneDNNMatmulPrimitive? {
        if let cached = primitives[shape] { return cached }
        omp_set_num_threads(Int32(threads))  // oneDNN sizes its blocking by the team it will get
        let made = OneDNNMatmulPrimitive(shape, engine: context.engine)
        primitives[shape] = .some(made)
        return made
    }
}
