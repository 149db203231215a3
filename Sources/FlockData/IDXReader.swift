import FlockTensor
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
        let header = try IDXHeader(bytes, path: path)
        try header.checkSize(bytes.count, path: path)
        return Tensor(shape: header.shape, scalars: header.elements(Array(bytes[header.size...])))
    }
}
