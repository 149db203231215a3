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
        let headerLength = try headerLength(data.prefix(8), fileBytes: data.count, path: path)
        let header = try Header(data.subdata(in: 8..<(8 + headerLength)), dataBytes: data.count - 8 - headerLength, path: path)
        var tensors: [String: Tensor] = [:]
        for (name, entry) in header.entries {
            let bytes = (header.dataStart + entry.bytes.lowerBound)..<(header.dataStart + entry.bytes.upperBound)
            let scalars = data[bytes].withUnsafeBytes { raw in
                (0..<entry.count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            tensors[name] = Tensor(shape: entry.shape, scalars: scalars)
        }
        return (tensors, header.metadata)
    }

    /// The header's length from a file's first 8 bytes, checked against the file's size.
    static func headerLength(_ first: Data, fileBytes: Int, path: String) throws -> Int {
        guard first.count >= 8, fileBytes >= 8 else { throw FormatError(path: path, reason: "shorter than the 8-byte header length") }
        let length = first.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(fileBytes - 8) else {
            throw FormatError(path: path, reason: "header length \(length) exceeds the file (\(fileBytes) bytes)")
        }
        return Int(length)
    }

    /// A parsed, checked header: every entry F32, fitting the data and overlapping no other.
    struct Header {
        struct Entry {
            let shape: [Int]
            let count: Int
            /// Byte offsets into the data (after the header).
            let bytes: Range<Int>
        }
        let entries: [String: Entry]
        let metadata: [String: String]
        /// Where the data starts in the file.
        let dataStart: Int

        init(_ json: Data, dataBytes: Int, path: String) throws {
            guard let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
                throw FormatError(path: path, reason: "header is not a JSON object")
            }
            var entries: [String: Entry] = [:]
            for (name, entry) in header where name != "__metadata__" {
                guard let entry = entry as? [String: Any], let dtype = entry["dtype"] as? String,
                      let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                    throw FormatError(path: path, reason: "tensor \(name): malformed header entry")
                }
                guard dtype == "F32" else { throw FormatError(path: path, reason: "tensor \(name): dtype \(dtype), expected F32") }
                let count = try elementCount(shape, tensor: name, path: path)
                // Compared without adding to offsets, which may be anything up to Int.max.
                guard offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= dataBytes, offsets[1] - offsets[0] == count * 4 else {
                    throw FormatError(path: path, reason: "tensor \(name): data_offsets \(offsets) do not fit shape \(shape) and the file")
                }
                entries[name] = Entry(shape: shape, count: count, bytes: offsets[0]..<offsets[1])
            }
            let ordered = entries.sorted { ($0.value.bytes.lowerBound, $0.value.bytes.upperBound) < ($1.value.bytes.lowerBound, $1.value.bytes.upperBound) }
            for (earlier, later) in zip(ordered, ordered.dropFirst()) where later.value.bytes.lowerBound < earlier.value.bytes.upperBound {
                throw FormatError(path: path, reason: "tensors \(earlier.key) and \(later.key) overlap in the data (bytes \(earlier.value.bytes.lowerBound)..<\(earlier.value.bytes.upperBound) and \(later.value.bytes.lowerBound)..<\(later.value.bytes.upperBound))")
            }
            let metadataEntry: Any = header["__metadata__"] ?? [String: String]()
            guard let metadata = metadataEntry as? [String: String] else {
                throw FormatError(path: path, reason: "__metadata__ is not an object of strings")
            }
            self.entries = entries
            self.metadata = metadata
            dataStart = 8 + json.count
        }
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
