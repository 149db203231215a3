import Foundation

/// The files `state.json` lists, opened and checked: small files and tensor files from
/// checkpoints without block checksums are read whole and checked against their SHA-256;
/// tensor files with block checksums are opened for reading by ranges (`LazyTensorFile`),
/// their blocks checked as they are read.
struct CheckpointContents {
    let folder: URL
    /// Files read whole, by name.
    private(set) var decoded: [String: Data] = [:]
    /// Tensor files read by ranges, by name.
    private(set) var opened: [String: LazyTensorFile] = [:]

    init(folder: URL, state: TrainingState, manifest: CheckpointManifest?) throws {
        self.folder = folder
        for (name, expected) in state.files.sorted(by: { $0.key < $1.key }) {
            // Only plain names: state.json must not point outside its folder.
            guard !name.isEmpty, !name.contains("/"), name != "..", name != "." else {
                throw Checkpoint.LoadError(description: "\(folder.path)/state.json: files lists '\(name)', not a file name in the checkpoint")
            }
            let path = folder.appendingPathComponent(name).path
            if let blocks = state.fileBlocks?[name] {
                opened[name] = try LazyTensorFile(path: path, digests: blocks)
                continue
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw Checkpoint.LoadError(description: "\(path): missing (listed in state.json)")
            }
            let actual = SHA256.hex(of: data)
            guard actual == expected else {
                throw Checkpoint.LoadError(description: "\(path): checksum mismatch: state.json records SHA-256 \(expected.prefix(16))…, the file (\(data.count) bytes) has \(actual.prefix(16))…; the file is truncated or corrupt")
            }
            try manifest?.verify(name, data, in: folder, hash: actual)
            decoded[name] = data
        }
    }

    /// The unsharded file `<stem>.safetensors`, if listed.
    func wholeFile(_ stem: String) throws -> GlobalTensors? {
        let name = "\(stem).safetensors"
        if let file = opened[name] { return try GlobalTensors(files: [file]) }
        guard let data = decoded[name] else { return nil }
        return GlobalTensors(whole: try SafeTensors.decode(data, path: folder.appendingPathComponent(name).path))
    }

    /// `<stem>.safetensors` or every shard `<stem>.<shard>.safetensors` as global tensors;
    /// nil when neither is listed.
    func tensors(_ stem: String) throws -> GlobalTensors? {
        if let whole = try wholeFile(stem) { return whole }
        let isShard = { (name: String) in name.hasPrefix("\(stem).") && name.hasSuffix(".safetensors") }
        let lazy = opened.keys.filter(isShard).sorted(), eager = decoded.keys.filter(isShard).sorted()
        guard !lazy.isEmpty || !eager.isEmpty else { return nil }
        var global = try GlobalTensors(files: lazy.map { opened[$0]! })
        for name in eager {
            let path = folder.appendingPathComponent(name).path
            let (tensors, placements) = try ShardedState.decode(decoded[name]!, path: path)
            try global.add(tensors, placements: placements, source: path)
        }
        return global
    }
}
