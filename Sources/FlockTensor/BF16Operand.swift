/// Float32 values rounded to bf16 (nearest, ties to even), dense in their stored order:
/// an operand kept for several products (`BF16MatrixProducts.rounded`).
public final class BF16Operand {
    let bits: UnsafeMutablePointer<UInt16>
    let count: Int

    init(count: Int) {
        self.count = count
        bits = .allocate(capacity: count)
    }

    deinit { bits.deallocate() }
}
