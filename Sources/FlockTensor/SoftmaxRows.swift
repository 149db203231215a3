/// Softmax over one row of scores and its gradient, 8 lanes at a time (`FastMath.exp`:
/// the C library's, one value at a time, was most of the attention's own work). Keys hidden
/// by a mask come in as −∞ and leave with probability 0; a row that hides every key gives
/// zeros.
enum SoftmaxRows {
    /// row ← softmax(row) over `count` values, in place.
    static func normalize(_ row: UnsafeMutablePointer<Float>, count: Int) {
        let largest = maximum(row, count)
        guard largest > -Float.infinity else {
            row.update(repeating: 0, count: count)
            return
        }
        // FastMath.exp(−∞) is about 1e-38, not 0: hidden keys are set to 0 by hand.
        var lanes = FloatLanes(repeating: 0), tail: Float = 0
        FloatLanes.forEach(count) { j in
            let shifted = row.lanes(at: j) - largest
            let e = FastMath.exp(shifted).replacing(with: 0, where: shifted .== -.infinity)
            row.setLanes(e, at: j)
            lanes += e
        } tail: { j in
            row[j] = row[j] == -.infinity ? 0 : FastMath.exp(row[j] - largest)
            tail += row[j]
        }
        let inverse = 1 / (lanes.sum() + tail)
        FloatLanes.forEach(count) { row.setLanes(row.lanes(at: $0) * inverse, at: $0) } tail: { row[$0] *= inverse }
    }

    /// dS = P ⊙ (dP − Σ_j dP_j·P_j) in place of dP, over `count` values.
    static func gradient(_ dp: UnsafeMutablePointer<Float>, probabilities p: UnsafePointer<Float>, count: Int) {
        var lanes = FloatLanes(repeating: 0), tail: Float = 0
        FloatLanes.forEach(count) { lanes += dp.lanes(at: $0) * p.lanes(at: $0) } tail: { tail += dp[$0] * p[$0] }
        let dot = lanes.sum() + tail
        FloatLanes.forEach(count) { j in
            dp.setLanes(p.lanes(at: j) * (dp.lanes(at: j) - dot), at: j)
        } tail: { j in
            dp[j] = p[j] * (dp[j] - dot)
        }
    }

    private static func maximum(_ row: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var lanes = FloatLanes(repeating: -.infinity), largest = -Float.infinity
        FloatLanes.forEach(count) { lanes = lanes.laneMaximum(row.lanes(at: $0)) } tail: { largest = Swift.max(largest, row[$0]) }
        return Swift.max(largest, lanes.largestLane())
    }
}
