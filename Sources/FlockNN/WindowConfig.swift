import FlockTensor

/// Decoding helpers shared by the convolution and pooling kinds: a size given as one
/// integer (`kernel: 3`) or a pair (`kernel: [3, 1]`, rows then columns), and SAME/VALID
/// padding by name.
extension KeyedDecodingContainer {
    /// A positive (rows, columns) pair at `key`, or `fallback` when absent.
    func sizePair(_ key: Key, path: String, or fallback: (Int, Int)?) throws -> (Int, Int)? {
        guard contains(key) else { return fallback }
        // 4096 pixels a side: larger windows than any image this trains on, and products
        // of them (kernel area × channels × filters) stay far from overflow.
        if let single = try? decode(Int.self, forKey: key) {
            try Check.positive(single, path)
            try Check.within(single, 1, 4096, path)
            return (single, single)
        }
        guard let pair = try? decode([Int].self, forKey: key), pair.count == 2 else {
            throw ConfigError(path: path, "expected a positive integer or a pair [rows, columns]")
        }
        try Check.positive(pair[0], path)
        try Check.positive(pair[1], path)
        try Check.within(pair[0], 1, 4096, path)
        try Check.within(pair[1], 1, 4096, path)
        return (pair[0], pair[1])
    }

    /// `same` or `valid` at `key`, or `fallback` when absent.
    func padding(_ key: Key, path: String, or fallback: WindowGeometry.Padding) throws -> WindowGeometry.Padding {
        guard let name = try decodeIfPresent(String.self, forKey: key) else { return fallback }
        try Check.oneOf(name, WindowGeometry.Padding.allCases.map(\.rawValue), path, what: "padding")
        return WindowGeometry.Padding(rawValue: name)!
    }
}

/// A (rows, columns) pair as configs write it: one integer when both are equal.
struct EncodedPair: Encodable {
    let rows: Int
    let columns: Int

    init(_ pair: (Int, Int)) { (rows, columns) = pair }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if rows == columns { try c.encode(rows) } else { try c.encode([rows, columns]) }
    }
}

extension LayerBuilder {
    /// The window geometry over a per-sample (C, H, W) input, or a config error naming
    /// the layer when the input is not an image or the window does not fit.
    func windowGeometry(inputShape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: WindowGeometry.Padding,
                        what: String) throws -> WindowGeometry {
        guard inputShape.count == 3 else {
            throw error("\(what) needs per-sample inputs of shape (channels, height, width), got \(inputShape) (set data.shape for image rows)")
        }
        guard let geometry = WindowGeometry(channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                                            kernel: kernel, stride: stride, padding: padding) else {
            throw error("\(what): a \(kernel.0)×\(kernel.1) window with \(padding.rawValue) padding does not fit inputs of shape \(inputShape)")
        }
        return geometry
    }
}
