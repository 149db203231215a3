/// Times each Float32 product shape on OpenBLAS and on oneDNN and picks the faster: what
/// rank 0 does at start-up before broadcasting the choice.
///
/// Not for a test's verdict: timings vary with the machine's load. oneDNN must be faster
/// by `margin` to be chosen, so close timings do not flip the choice from one run to the
/// next. Operands are dense (a batch's pairs one after another), filled with small values.
public enum MatrixProductTiming {
    /// The fraction by which oneDNN must win.
    public static let margin = 0.05

    /// The kernel for each of `shapes`, on `kernels` (their threads and primitives).
    /// Leaves `kernels.choices` as it found them.
    public static func choose(_ shapes: [MatrixProductShape], kernels: Float32MatrixProducts,
                              repetitions: Int = 5) -> [MatrixProductShape: MatrixProductKernelName] {
        let saved = kernels.choices
        defer { kernels.choices = saved }
        var chosen: [MatrixProductShape: MatrixProductKernelName] = [:]
        for shape in shapes {
            let product = TimedProduct(shape)
            guard kernels.oneDNNRuns(product.batch.primitiveShape(inputs: .float32)) else { chosen[shape] = .openblas; continue }
            // One unmeasured run each (primitive creation, first touch), then the two
            // kernels alternate, so a change in the machine's load hits both alike.
            var best: [MatrixProductKernelName: Double] = [:]
            for repetition in 0...repetitions {
                for kernel in MatrixProductKernelName.allCases {
                    kernels.choices[shape] = kernel
                    let seconds = product.seconds(on: kernels)
                    if repetition > 0 { best[kernel] = min(best[kernel] ?? .infinity, seconds) }
                }
            }
            chosen[shape] = best[.onednn]! < best[.openblas]! * (1 - margin) ? .onednn : .openblas
        }
        return chosen
    }
}

/// One product shape's operands, dense, and its run.
private final class TimedProduct {
    let batch: MatrixProductBatch
    let a: [Float], b: [Float]
    var c: [Float]

    init(_ shape: MatrixProductShape) {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        // Stored rows: A (m, k) or (k, m) transposed; B (k, n) or (n, k).
        let strides = { (rows: Int, columns: Int) in MatrixProductBatch.Strides(row: columns, outer: rows * columns, inner: 0) }
        batch = MatrixProductBatch(transposeA: shape.transposeA, transposeB: shape.transposeB, m: m, n: n, k: k,
                                   outer: shape.batch, inner: 1,
                                   a: shape.transposeA ? strides(k, m) : strides(m, k), b: shape.transposeB ? strides(n, k) : strides(k, n),
                                   c: strides(m, n))
        a = (0..<(m * k * shape.batch)).map { Float($0 % 7) * 0.01 }
        b = (0..<(k * n * shape.batch)).map { Float($0 % 5) * 0.01 }
        c = [Float](repeating: 0, count: m * n * shape.batch)
    }

    /// Seconds of the product(s) as a tape runs them: one batched call, or one `gemm`.
    func seconds(on kernels: Float32MatrixProducts) -> Double {
        let start = ContinuousClock.now
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    if batch.outer > 1 {
                        MatrixProducts.float32PerShape(kernels).batchedGemm(batch, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                    } else {
                        kernels.gemm(transposeA: batch.transposeA, transposeB: batch.transposeB, m: batch.m, n: batch.n, k: batch.k,
                                     a: pa.baseAddress!, lda: batch.a.row, b: pb.baseAddress!, ldb: batch.b.row,
                                     beta: 0, c: pc.baseAddress!, ldc: batch.c.row)
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
