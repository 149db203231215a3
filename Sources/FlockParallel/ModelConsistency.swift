import FlockComm
import FlockTensor

/// The start-up check of a parallel job: every rank must be started from the same
/// resolved config, and the ranks of each data-parallel group (which hold replicas of
/// the same shard) must hold the same parameters and buffers, names and shapes. Ranks of
/// different pipeline stages or tensor slices hold different shards, so they are not
/// compared with each other.
public enum ModelConsistency {
    /// A mismatch found at start-up; every rank of the group throws the same one.
    public struct Mismatch: Error, CustomStringConvertible {
        public let description: String
    }

    /// The model within each data group, then the config across the world; every rank
    /// learns of a mismatch anywhere and throws, so none is left waiting in a collective.
    /// Collective over the world.
    public static func verify(_ parameters: ParameterStore, configHash: UInt64, layout: ParallelLayout) throws {
        let modelDifference = try modelDifference(parameters, across: layout.dataGroup,
                                                  worldRank: layout.worldRank(ofDataGroupRank:))
        let all = try layout.world.allgather([Int64(bitPattern: configHash), modelDifference == nil ? 0 : 1])
        if let modelDifference { throw Mismatch(description: "ranks hold different models: \(modelDifference)") }
        if let rank = all.firstIndex(where: { $0[1] == 1 }) {
            throw Mismatch(description: "ranks hold different models (rank \(rank) reports which parameter differs)")
        }
        let differing = all.indices.filter { all[$0][0] != all[0][0] }
        guard differing.isEmpty else {
            throw Mismatch(description: "ranks were started with different configs: ranks \(differing.map(String.init).joined(separator: ", ")) differ from rank 0")
        }
    }

    /// One small allgather of digests within `group`; only on a mismatch, a second one of
    /// the full layouts to name the first parameter that differs and the (world) ranks
    /// involved. Every rank of the group gets the same answer.
    public static func modelDifference(_ parameters: ParameterStore, across group: any Communicator,
                                       worldRank: (Int) -> Int = { $0 }) throws -> String? {
        let layout = describe(parameters)
        let all = try group.allgather([Int64(parameters.stateLayout.count), Int64(bitPattern: fnv1a(layout))])
        guard all.contains(where: { $0 != all[0] }) else { return nil }
        let layouts = try gatherText(layout, across: group).map { $0.split(separator: "\n").map(String.init) }
        let reference = layouts[0]
        for other in 1..<layouts.count where layouts[other] != reference {
            if let what = firstDifference(reference, layouts[other], first: worldRank(0), second: worldRank(other)) {
                return what
            }
        }
        return "parameter layouts differ"
    }

    /// Every rank's `text`, in group rank order (bytes widened to Int64 for the allgather).
    private static func gatherText(_ text: String, across group: any Communicator) throws -> [String] {
        let bytes = Array(text.utf8).map { Int64($0) }
        let counts = try group.allgather([Int64(bytes.count)]).map { Int($0[0]) }
        var gathered = [Int64](repeating: 0, count: counts.reduce(0, +))
        try bytes.withUnsafeBufferPointer { send in
            try gathered.withUnsafeMutableBufferPointer { try group.allgather(send, into: $0, counts: counts) }
        }
        var texts: [String] = []
        var offset = 0
        for count in counts {
            texts.append(String(decoding: gathered[offset..<(offset + count)].map { UInt8($0) }, as: UTF8.self))
            offset += count
        }
        return texts
    }

    private static func firstDifference(_ reference: [String], _ theirs: [String], first: Int, second: Int) -> String? {
        for index in 0..<max(reference.count, theirs.count) {
            let a = index < reference.count ? reference[index] : nil, b = index < theirs.count ? theirs[index] : nil
            switch (a, b) {
            case let (a?, b?) where a == b: continue
            case let (a?, b?) where name(a) == name(b):
                return "parameter \(name(a)) has shape \(shape(a)) on rank \(first) but \(shape(b)) on rank \(second)"
            case let (a?, b?): return "parameter #\(index) is \(name(a)) on rank \(first) but \(name(b)) on rank \(second)"
            case let (a?, nil): return "parameter \(name(a)) exists on rank \(first) but not on rank \(second)"
            case let (nil, b?): return "parameter \(name(b)) exists on rank \(second) but not on rank \(first)"
            default: continue
            }
        }
        return nil
    }

    /// One line per parameter, then per buffer: `name shape`.
    static func describe(_ parameters: ParameterStore) -> String {
        parameters.stateLayout.map { "\($0.name) \($0.shape)" }.joined(separator: "\n")
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
