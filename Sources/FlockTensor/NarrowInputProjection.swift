/// A recurrent layer's input projection when each step brings only a few features (a
/// waveform's one value): as axpys over the rows, in Float32. `gemm` with k or n of 1
/// packed and swept the whole (T·B, G·H) matrix for 2 FLOPs an element, about 2 ms of a
/// 30 ms LSTM step. Under bf16 the projection stays a `MatrixProducts` product.
enum NarrowInputProjection {
    /// Widest input (C) that takes this path.
    static let maximumFeatures = 8

    /// out (rows, G·H) += x (rows, C) · W_ihᵀ, W_ih (G·H, C).
    static func project(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                        rows: Int, features c: Int, width: Int) {
        let columns = transposed(weight, rows: width, columns: c)
        columns.withUnsafeBufferPointer { wt in
            for r in 0..<rows {
                let target = out + r * width
                for feature in 0..<c {
                    let value = x[r * c + feature], column = wt.baseAddress! + feature * width
                    for j in 0..<width { target[j] += value * column[j] }
                }
            }
        }
    }

    /// dW_ih (G·H, C) += dProjectedᵀ (G·H, rows) · x (rows, C).
    static func accumulateWeightGradient(_ gradients: UnsafePointer<Float>, inputs x: UnsafePointer<Float>,
                                         into dw: UnsafeMutablePointer<Float>, rows: Int, features c: Int, width: Int) {
        var sums = [Float](repeating: 0, count: c * width)  // (C, G·H)
        sums.withUnsafeMutableBufferPointer { s in
            for r in 0..<rows {
                let source = gradients + r * width
                for feature in 0..<c {
                    let value = x[r * c + feature], target = s.baseAddress! + feature * width
                    for j in 0..<width { target[j] += source[j] * value }
                }
            }
            for j in 0..<width {
                for feature in 0..<c { dw[j * c + feature] += s[feature * width + j] }
            }
        }
    }

    /// (rows, columns) → (columns, rows).
    private static func transposed(_ m: UnsafePointer<Float>, rows: Int, columns: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * columns) { out, count in
            for i in 0..<rows {
                for j in 0..<columns { out[j * rows + i] = m[i * columns + j] }
            }
            count = rows * columns
        }
    }
}
