import Foundation

/// The header of an IDX file: two zero bytes, a type code, the number of dimensions, then
/// each dimension as a 32-bit big-endian integer; the data follows.
struct IDXHeader: Sendable, Equatable {
    let typeCode: UInt8
    let elementSize: Int
    let shape: [Int]
    /// Bytes before the data.
    var size: Int { 4 + 4 * shape.count }
    /// Elements in the whole tensor.
    let elementCount: Int

    /// Reads the header from the first bytes of the file at `path` (at least
    /// `4 + 4·255` of them, or all there are); throws naming the file.
    init(_ bytes: [UInt8], path: String) throws {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw DataError.invalidIDX(path: path, reason: "missing the 0x0000 magic prefix")
        }
        switch bytes[2] {
        case 0x08, 0x09: elementSize = 1
        case 0x0B: elementSize = 2
        case 0x0C, 0x0D: elementSize = 4
        case 0x0E: elementSize = 8
        default: throw DataError.invalidIDX(path: path, reason: String(format: "unknown type code 0x%02X", bytes[2]))
        }
        typeCode = bytes[2]
        let rank = Int(bytes[3])
        guard bytes.count >= 4 + 4 * rank else {
            throw DataError.invalidIDX(path: path, reason: "header declares \(rank) dimensions but the file ends first")
        }
        let shape = (0..<rank).map { Int(Self.bigEndianUInt32(bytes, at: 4 + 4 * $0)) }
        // Dimensions are up to 2^32 - 1 each: their product can overflow Int.
        elementCount = try shape.reduce(1) { product, dimension in
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            let (bytes, bytesOverflow) = next.multipliedReportingOverflow(by: 8)
            guard !overflow, !bytesOverflow, bytes < Int.max / 2 else {
                throw DataError.invalidIDX(path: path, reason: "shape \(shape) is too large")
            }
            return next
        }
        self.shape = shape
    }

    /// Throws unless the file's `fileSize` bytes are exactly the header and the data.
    func checkSize(_ fileSize: Int, path: String) throws {
        guard fileSize - size == elementCount * elementSize else {
            throw DataError.invalidIDX(path: path,
                reason: "shape \(shape) needs \(elementCount * elementSize) data bytes, file has \(fileSize - size)")
        }
    }

    /// Element `index` of `data` (the bytes after the header, or a slice of them) as a Float.
    func element(_ data: UnsafeBufferPointer<UInt8>, _ index: Int) -> Float {
        let at = index * elementSize
        switch typeCode {
        case 0x08: return Float(data[at])
        case 0x09: return Float(Int8(bitPattern: data[at]))
        case 0x0B: return Float(Int16(bitPattern: UInt16(data[at]) << 8 | UInt16(data[at + 1])))
        case 0x0C: return Float(Int32(bitPattern: Self.bigEndianUInt32(data, at: at)))
        case 0x0D: return Float(bitPattern: Self.bigEndianUInt32(data, at: at))
        default:
            let high = UInt64(Self.bigEndianUInt32(data, at: at)), low = UInt64(Self.bigEndianUInt32(data, at: at + 4))
            return Float(Double(bitPattern: high << 32 | low))
        }
    }

    /// All elements of `data` as Floats (one loop per type: files can be large).
    func elements(_ data: [UInt8]) -> [Float] {
        let count = data.count / elementSize
        return [Float](unsafeUninitializedCapacity: count) { output, initialized in
            data.withUnsafeBufferPointer { input in
                switch typeCode {
                case 0x08: for i in 0..<count { output[i] = Float(input[i]) }
                case 0x0D:
                    let bytes = UnsafeRawBufferPointer(input)
                    for i in 0..<count {
                        output[i] = Float(bitPattern: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                default: for i in 0..<count { output[i] = element(input, i) }
                }
            }
            initialized = count
        }
    }

    static func bigEndianUInt32<Bytes: RandomAccessCollection>(_ bytes: Bytes, at offset: Int) -> UInt32
    where Bytes.Element == UInt8, Bytes.Index == Int {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
