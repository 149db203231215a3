/// The start-up check of a data-parallel job: every rank must hold the same model
/// (parameter names and shapes) built from the same resolved config.
public enum ModelConsistency {
    /// A model mismatch found at start-up; every rank throws the same one.
    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// One small allgather of digests; only on a mismatch, a second one of the full
    /// parameter lists to name the first parameter that differs and the ranks involved.
    public static func verify(_ parameters: ParameterStore, configHash: UInt64, communicator: any Communicator) throws {
        let layout = describe(parameters)
        let digest: [Int64] = [Int64(parameters.slots.count), Int64(bitPattern: fnv1a(layout)), Int64(bitPattern: configHash)]
        let all = try communicator.allgather(digest)
        guard all.contains(where: { $0 != all[0] }) else { return }

        // Gather every rank's layout text (as bytes widened to Int64) to explain the difference.
        let bytes = Array(layout.utf8).map { Int64($0) }
        let counts = try communicator.allgather([Int64(bytes.count)]).map { Int($0[0]) }
        var gathered = [Int64](repeating: 0, count: counts.reduce(0, +))
        try bytes.withUnsafeBufferPointer { send in
            try gathered.withUnsafeMutableBufferPointer { try communicator.allgather(send, into: $0, counts: counts) }
        }
        var layouts: [[String]] = []
        var offset = 0
        for count in counts {
            let text = String(decoding: gathered[offset..<(offset + count)].map { UInt8($0) }, as: UTF8.self)
            layouts.append(text.split(separator: "\n").map(String.init))
            offset += count
        }
        for other in 1..<layouts.count where layouts[other] != layouts[0] {
            let reference = layouts[0], theirs = layouts[other]
            for index in 0..<max(reference.count, theirs.count) {
                let a = index < reference.count ? reference[index] : nil, b = index < theirs.count ? theirs[index] : nil
                if a == b { continue }
                let what: String
                switch (a, b) {
                case let (a?, b?) where name(a) == name(b):
                    what = "parameter \(name(a)) has shape \(shape(a)) on rank 0 but \(shape(b)) on rank \(other)"
                case let (a?, b?): what = "parameter #\(index) is \(name(a)) on rank 0 but \(name(b)) on rank \(other)"
                case let (a?, nil): what = "parameter \(name(a)) exists on rank 0 but not on rank \(other)"
                case let (nil, b?): what = "parameter \(name(b)) exists on rank \(other) but not on rank 0"
                default: continue
                }
                throw Mismatch(description: "ranks hold different models: \(what)")
            }
        }
        let differing = all.indices.filter { all[$0][2] != all[0][2] }
        throw Mismatch(description: "ranks were started with different configs: ranks \(differing.map(String.init).joined(separator: ", ")) differ from rank 0")
    }

    /// One line per parameter: `name shape`.
    static func describe(_ parameters: ParameterStore) -> String {
        parameters.slots.map { "\($0.name) \($0.shape)" }.joined(separator: "\n")
    }

    private static func name(_ line: String) -> String { String(line.split(separator: " ").first ?? "") }
    private static func shape(_ line: String) -> String { String(line.drop { $0 != " " }.dropFirst()) }

    /// FNV-1a, 64 bit: a hash that is the same in every process (Swift's `Hasher` is seeded per process).
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
