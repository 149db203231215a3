import Foundation

/// Reads the IDX format of MNIST (LeCun et al.): a big-endian header — two zero bytes,
/// a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
/// 0x0D float32, 0x0E float64), the number of dimensions — then each dimension as a
/// 32-bit big-endian integer, then the data.
public enum IDXReader {
    /// The whole file as a tensor of its declared shape.
    public static func read(path: String) throws -> Tensor {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or not a file")
        }
        return try parse([UInt8](data), path: path)
    }

    /// Images (N, d…) and labels (N) from two IDX files, as MNIST ships them.
    public static func readDataset(images: String, labels: String) throws -> Dataset {
        let features = try read(path: images)
        let targets = try read(path: labels)
        guard features.rank >= 1, targets.rank == 1 else {
            throw DataError.invalidIDX(path: labels, reason: "labels must be one-dimensional, got shape \(targets.shape)")
        }
        guard features.shape[0] == targets.shape[0] else {
            throw DataError.mismatchedCounts(features: images, labels: labels,
                                             featureCount: features.shape[0], labelCount: targets.shape[0])
        }
        return Dataset(features: features, targets: targets)
    }

    public static func parse(_ bytes: [UInt8], path: String) throws -> Tensor {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw DataError.invalidIDX(path: path, reason: "missing the 0x0000 magic prefix")
        }
        let elementSize: Int
        switch bytes[2] {
        case 0x08, 0x09: elementSize = 1
        case 0x0B: elementSize = 2
        case 0x0C, 0x0D: elementSize = 4
        case 0x0E: elementSize = 8
        default: throw DataError.invalidIDX(path: path, reason: String(format: "unknown type code 0x%02X", bytes[2]))
        }
        let rank = Int(bytes[3])
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError.invalidIDX(path: path, reason: "header declares \(rank) dimensions but the file ends first")
        }
        let shape = (0..<rank).map { Int(bigEndianUInt32(bytes, at: 4 + 4 * $0)) }
        // Dimensions are up to 2^32 - 1 each: their product can overflow Int.
        let count = try shape.reduce(elementSize) { product, dimension in
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw DataError.invalidIDX(path: path, reason: "shape \(shape) is too large") }
            return next
        } / elementSize
        guard bytes.count - headerSize == count * elementSize else {
            throw DataError.invalidIDX(path: path,
                reason: "shape \(shape) needs \(count * elementSize) data bytes, file has \(bytes.count - headerSize)")
        }
        let scalars: [Float] = (0..<count).map { i in
            let at = headerSize + i * elementSize
            switch bytes[2] {
            case 0x08: return Float(bytes[at])
            case 0x09: return Float(Int8(bitPattern: bytes[at]))
            case 0x0B: return Float(Int16(bitPattern: UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])))
            case 0x0C: return Float(Int32(bitPattern: bigEndianUInt32(bytes, at: at)))
            case 0x0D: return Float(bitPattern: bigEndianUInt32(bytes, at: at))
            default:
                let high = UInt64(bigEndianUInt32(bytes, at: at)), low = UInt64(bigEndianUInt32(bytes, at: at + 4))
                return Float(Double(bitPattern: high << 32 | low))
            }
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    private static func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
