import FlockTensor
import Foundation

/// A safetensors file written straight from where its values lie — a model's parameter
/// buffer, an optimizer's moments — so that writing it costs one header and no copy of
/// the file: the values are handed to the output piece by piece.
public struct SafeTensorsFile {
    /// Calls its argument with the file's values, in layout order, in as many pieces as it likes.
    public typealias ValueSource = ((UnsafeBufferPointer<Float>) throws -> Void) throws -> Void

    public let layout: [(name: String, shape: [Int])]
    public let metadata: [String: String]
    let values: ValueSource

    public init(layout: [(name: String, shape: [Int])], metadata: [String: String] = [:], values: @escaping ValueSource) {
        self.layout = layout
        self.metadata = metadata
        self.values = values
    }

    /// Every parameter and buffer of `parameters` (a `state_dict`), read at write time.
    public static func model(_ parameters: ParameterStore, metadata: [String: String] = [:]) -> SafeTensorsFile {
        SafeTensorsFile(layout: parameters.stateLayout, metadata: metadata) { emit in
            try parameters.withParameters { try emit(UnsafeBufferPointer($0)) }
            try parameters.withBuffers { try emit(UnsafeBufferPointer($0)) }
        }
    }

    /// `values` (the array is shared, not copied) laid out as `layout`.
    public static func values(_ values: [Float], layout: [(name: String, shape: [Int])],
                              metadata: [String: String] = [:]) -> SafeTensorsFile {
        SafeTensorsFile(layout: layout, metadata: metadata) { emit in try values.withUnsafeBufferPointer(emit) }
    }

    /// Named flat buffers (an optimizer's state), each stored with shape [count], by name.
    public static func buffers(_ buffers: [String: [Float]], metadata: [String: String] = [:]) -> SafeTensorsFile {
        let names = buffers.keys.sorted()
        return SafeTensorsFile(layout: names.map { ($0, [buffers[$0]!.count]) }, metadata: metadata) { emit in
            for name in names { try buffers[name]!.withUnsafeBufferPointer(emit) }
        }
    }

    /// The number of values the layout holds.
    public var valueCount: Int { layout.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// The 8-byte length, then the JSON header padded with spaces to a multiple of 8.
    func header() throws -> Data {
        var entries: [String: Any] = [:]
        var offset = 0
        for (name, shape) in layout {
            let bytes = shape.reduce(1, *) * 4
            entries[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        if !metadata.isEmpty { entries["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var data = Data(capacity: 8 + json.count)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        return data
    }

    /// Hands the whole file to `write` — the header, then the values as little-endian F32
    /// in pieces of at most `chunkElements` — and checks the values fill the layout.
    public func stream(chunkElements: Int = 1 << 20, to write: (UnsafeRawBufferPointer) throws -> Void) throws {
        try header().withUnsafeBytes { try write($0) }
        var written = 0
        try values { piece in
            var start = 0
            while start < piece.count {
                let chunk = UnsafeBufferPointer(rebasing: piece[start..<min(piece.count, start + chunkElements)])
                try Self.writeLittleEndian(chunk, to: write)
                start += chunk.count
            }
            written += piece.count
        }
        precondition(written == valueCount, "safetensors layout covers \(valueCount) values, its source gave \(written)")
    }

    /// The whole file in memory (for a transfer to another rank, or a test).
    public func encoded() throws -> Data {
        var data = Data(capacity: valueCount * 4 + 256)
        try stream { data.append(contentsOf: $0) }
        return data
    }

    private static func writeLittleEndian(_ chunk: UnsafeBufferPointer<Float>,
                                          to write: (UnsafeRawBufferPointer) throws -> Void) throws {
        #if _endian(little)
        try write(UnsafeRawBufferPointer(chunk))
        #else
        let swapped = chunk.map { $0.bitPattern.littleEndian }
        try swapped.withUnsafeBytes { try write($0) }
        #endif
    }
}
