import FlockTensor
import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to `{"dtype", "shape", "data_offsets"}` (byte offsets
/// into the data that follows), padded with spaces to a multiple of 8, then the data.
/// A model's file holds its parameters in slot order, then its buffers (running
/// statistics), little-endian F32, named by layer path, so PyTorch's
/// `safetensors.torch.load_file` reads it as a `state_dict`.
public enum SafeTensors {
    public struct FormatError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The bytes of a safetensors file holding every parameter and buffer of `parameters`
    /// (PyTorch's `state_dict`: running statistics included).
    public static func encode(_ parameters: ParameterStore, metadata: [String: String] = [:]) throws -> Data {
        try SafeTensorsFile.model(parameters, metadata: metadata).encoded()
    }

    /// Named flat buffers (an optimizer's state), each stored with shape [count].
    public static func encode(buffers: [String: [Float]], metadata: [String: String] = [:]) throws -> Data {
        try SafeTensorsFile.buffers(buffers, metadata: metadata).encoded()
    }

    /// Writes `file` to `url` atomically, streamed: no copy of the file is built in memory.
    public static func write(_ file: SafeTensorsFile, to url: URL) throws {
        try AtomicFile.write(to: url) { output in try file.stream { try output.append($0) } }
    }

    /// Reads every tensor of a safetensors file: name → (shape, values). F32 only.
    public static func read(_ url: URL) throws -> [String: Tensor] {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FormatError(path: path, reason: "file not found or unreadable")
        }
        return try decode(data, path: path)
    }

    /// Parses safetensors bytes; `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> [String: Tensor] {
        try decodeWithMetadata(data, path: path).tensors
    }

    /// The tensors and the header's `__metadata__` (string to string; empty when absent).
    public static func decodeWithMetadata(_ data: Data, path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard data.count >= 8 else { throw FormatError(path: path, reason: "shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw FormatError(path: path, reason: "header length \(headerLength) exceeds the file (\(data.count) bytes)")
        }
        let dataStart = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart)) as? [String: Any] else {
            throw FormatError(path: path, reason: "header is not a JSON object")
        }
        // Every entry is checked (and overlaps ruled out) before any tensor is allocated.
        var entries: [(name: String, shape: [Int], count: Int, bytes: Range<Int>)] = []
        for (name, entry) in header where name != "__metadata__" {
            guard let entry = entry as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw FormatError(path: path, reason: "tensor \(name): malformed header entry")
            }
            guard dtype == "F32" else { throw FormatError(path: path, reason: "tensor \(name): dtype \(dtype), expected F32") }
            let count = try elementCount(shape, tensor: name, path: path)
            // Compared without adding to offsets, which may be anything up to Int.max.
            guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= data.count - dataStart,
                  offsets[1] - offsets[0] == count * 4 else {
                throw FormatError(path: path, reason: "tensor \(name): data_offsets \(offsets) do not fit shape \(shape) and the file")
            }
            entries.append((name, shape, count, (dataStart + offsets[0])..<(dataStart + offsets[1])))
        }
        let ordered = entries.sorted { ($0.bytes.lowerBound, $0.bytes.upperBound) < ($1.bytes.lowerBound, $1.bytes.upperBound) }
        for (earlier, later) in zip(ordered, ordered.dropFirst()) where later.bytes.lowerBound < earlier.bytes.upperBound {
            throw FormatError(path: path, reason: "tensors \(earlier.name) and \(later.name) overlap in the data (bytes \(earlier.bytes.lowerBound - dataStart)..<\(earlier.bytes.upperBound - dataStart) and \(later.bytes.lowerBound - dataStart)..<\(later.bytes.upperBound - dataStart))")
        }
        var tensors: [String: Tensor] = [:]
        for entry in entries {
            let scalars = data[entry.bytes].withUnsafeBytes { raw in
                (0..<entry.count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            tensors[entry.name] = Tensor(shape: entry.shape, scalars: scalars)
        }
        let metadataEntry: Any = header["__metadata__"] ?? [String: String]()
        guard let metadata = metadataEntry as? [String: String] else {
            throw FormatError(path: path, reason: "__metadata__ is not an object of strings")
        }
        return (tensors, metadata)
    }

    /// The number of values of `shape`, checked: no negative dimension, and at most what
    /// a byte offset can address (4 bytes each).
    private static func elementCount(_ shape: [Int], tensor: String, path: String) throws -> Int {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw FormatError(path: path, reason: "tensor \(tensor): shape \(shape) has a negative dimension")
        }
        return try shape.reduce(1) { product, dimension in
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow, next <= Int.max / 4 else {
                throw FormatError(path: path, reason: "tensor \(tensor): shape \(shape) is too large")
            }
            return next
        }
    }
}
