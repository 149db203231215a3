import Foundation

/// One rank's part of an in-memory snapshot: the checkpoint files it would contribute at
/// that step (rank 0: `state.json`, `config.yaml`, `preprocessing.json` and, unsharded,
/// the model and optimizer files; a shard owner: its `model.<shard>.safetensors`, …; a
/// pure data-parallel replica: nothing, but its piece still says it took part).
/// The payload on the wire is the files, framed as
///
/// ```
/// count (UInt32) | per file: name length (UInt32) | name | length (UInt64) | bytes
/// ```
struct SnapshotPiece: Sendable {
    /// Which piece: launch `attempt` (0 first, k after the k-th restart) of a `world`-rank
    /// job, at optimizer `step`, from `rank`; `bytes` and `sha256` of its payload.
    struct Key: Codable, Sendable, Hashable {
        var attempt: Int
        var step: Int
        var rank: Int
        var world: Int
        var bytes: Int
        var sha256: String
    }

    var key: Key
    var payload: Data

    init(attempt: Int, step: Int, rank: Int, world: Int, files: [String: Data]) {
        payload = Self.encode(files)
        key = Key(attempt: attempt, step: step, rank: rank, world: world, bytes: payload.count, sha256: SHA256.hex(of: payload))
    }

    init(key: Key, payload: Data) {
        self.key = key
        self.payload = payload
    }

    static func encode(_ files: [String: Data]) -> Data {
        var data = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        append(UInt32(files.count))
        for name in files.keys.sorted() {
            append(UInt32(name.utf8.count))
            data.append(contentsOf: name.utf8)
            append(UInt64(files[name]!.count))
            data.append(files[name]!)
        }
        return data
    }

    /// The files, checked against the key: a piece that does not match (damaged on the
    /// way or in a keeper) is an error naming it, never a half-used snapshot.
    func files() throws -> [String: Data] {
        let name = "snapshot piece of rank \(key.rank) at step \(key.step)"
        guard payload.count == key.bytes, SHA256.hex(of: payload) == key.sha256 else {
            throw KeeperSocket.Failure(message: "\(name): \(payload.count) bytes that do not match their SHA-256 (\(key.bytes) bytes expected)")
        }
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard offset + MemoryLayout<T>.size <= payload.count else { throw KeeperSocket.Failure(message: "\(name): truncated") }
            defer { offset += MemoryLayout<T>.size }
            return payload.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        func bytes(_ count: Int) throws -> Data {
            guard count >= 0, offset + count <= payload.count else { throw KeeperSocket.Failure(message: "\(name): truncated") }
            defer { offset += count }
            return payload.subdata(in: payload.startIndex + offset..<payload.startIndex + offset + count)
        }
        var files: [String: Data] = [:]
        for _ in 0..<(try read(UInt32.self)) {
            let file = String(decoding: try bytes(Int(try read(UInt32.self))), as: UTF8.self)
            guard !file.isEmpty, !file.contains("/"), file != "..", file != "." else {
                throw KeeperSocket.Failure(message: "\(name): '\(file)' is not a file name in a checkpoint")
            }
            files[file] = try bytes(Int(clamping: try read(UInt64.self)))
        }
        return files
    }
}
