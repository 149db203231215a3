/// `outer × inner` matrix products of one shape, `C_oh = alpha · op(A_oh) · op(B_oh) +
/// beta · C_oh`, whose operands sit at fixed strides in three buffers: attention's
/// per-(sample, head) products, with samples the outer index and heads the inner one.
public struct MatrixProductBatch: Sendable {
    /// Where one operand's matrices are, as stored: `row` is BLAS's leading dimension,
    /// `outer` and `inner` the distances between consecutive pairs' matrices.
    public struct Strides: Sendable {
        public var row: Int, outer: Int, inner: Int
        public init(row: Int, outer: Int, inner: Int) { (self.row, self.outer, self.inner) = (row, outer, inner) }
    }

    public var transposeA: Bool, transposeB: Bool
    public var m: Int, n: Int, k: Int
    public var outer: Int, inner: Int
    public var alpha: Float, beta: Float
    public var a: Strides, b: Strides, c: Strides

    public init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, outer: Int, inner: Int, alpha: Float = 1, beta: Float = 0,
                a: Strides, b: Strides, c: Strides) {
        (self.transposeA, self.transposeB, self.m, self.n, self.k) = (transposeA, transposeB, m, n, k)
        (self.outer, self.inner, self.alpha, self.beta, self.a, self.b, self.c) = (outer, inner, alpha, beta, a, b, c)
    }

    /// The key a kernel is chosen under.
    public var shape: MatrixProductShape {
        MatrixProductShape(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, batch: outer * inner)
    }

    /// Calls `body(A_oh, B_oh, C_oh)` for every pair, outer index first.
    @inlinable
    public func forEachPair(a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                            _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        for o in 0..<outer {
            for h in 0..<inner {
                body(a + o * self.a.outer + h * self.a.inner, b + o * self.b.outer + h * self.b.inner,
                     c + o * self.c.outer + h * self.c.inner)
            }
        }
    }

    /// Elements from A's and B's first element to their last, gaps included: what a
    /// batch's operands are rounded to bf16 as, in one piece, strides kept.
    var operandSpans: (a: Int, b: Int) {
        func span(_ s: Strides, rows: Int, columns: Int) -> Int {
            (outer - 1) * s.outer + (inner - 1) * s.inner + (rows - 1) * s.row + columns
        }
        // Stored rows: A (m, k) or (k, m) transposed; B (k, n) or (n, k).
        return (transposeA ? span(a, rows: k, columns: m) : span(a, rows: m, columns: k),
                transposeB ? span(b, rows: n, columns: k) : span(b, rows: k, columns: n))
    }

    /// oneDNN's view: logical (m, k), (k, n), (m, n) operands at element strides.
    func primitiveShape(inputs: MatrixPrecision) -> OneDNNMatmulPrimitive.Shape {
        typealias Layout = OneDNNMatmulPrimitive.Layout
        func layout(_ s: Strides, transposed: Bool) -> Layout {
            transposed ? Layout(row: 1, column: s.row, outer: s.outer, inner: s.inner)
                       : Layout(row: s.row, column: 1, outer: s.outer, inner: s.inner)
        }
        return OneDNNMatmulPrimitive.Shape(inputs: inputs, outer: outer, inner: inner, m: m, n: n, k: k,
                                           a: layout(a, transposed: transposeA), b: layout(b, transposed: transposeB),
                                           c: layout(c, transposed: false), alpha: alpha, beta: beta)
    }
}
