/// TFRecord framing, the container of TensorBoard event files: for each record
/// `uint64 length` (little-endian), `uint32 masked_crc32c(length bytes)`, the data,
/// `uint32 masked_crc32c(data)`.
enum TFRecordFraming {
    static func frame(_ data: [UInt8]) -> [UInt8] {
        let length = littleEndianBytes(UInt64(data.count))
        return length + littleEndianBytes(CRC32C.masked(length)) + data + littleEndianBytes(CRC32C.masked(data))
    }

    private static func littleEndianBytes<Integer: FixedWidthInteger>(_ value: Integer) -> [UInt8] {
        (0..<Integer.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}
