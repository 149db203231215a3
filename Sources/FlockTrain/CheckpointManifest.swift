import Foundation

/// A checkpoint's `manifest.json`: the SHA-256 of every file in the checkpoint folder,
/// `state.json` included (which itself lists the others' checksums, but cannot hold its
/// own). Written last; a checkpoint from before manifests existed has none and still
/// loads, with its state checked value by value only.
///
/// ```json
/// {"format_version": 1, "files": {"state.json": "9f2c…", "model.safetensors": "41ab…"}}
/// ```
public struct CheckpointManifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    /// The first `state.json` format version written beside a manifest: a state of this
    /// version or later without one is an incomplete checkpoint.
    public static let firstStateVersion = 2

    public var formatVersion = 1
    /// File name → SHA-256 (hex) of its bytes.
    public var files: [String: String]

    enum CodingKeys: String, CodingKey {
        case files
        case formatVersion = "format_version"
    }

    /// The manifest of `files` (name → bytes).
    public init(files: [String: Data]) {
        self.files = files.mapValues { SHA256.hex(of: $0) }
    }

    /// The manifest of files already hashed (name → SHA-256 hex).
    public init(hashes: [String: String]) {
        files = hashes
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The manifest of checkpoint `folder`, or nil when it has none (an older checkpoint).
    static func read(_ folder: URL) throws -> CheckpointManifest? {
        let url = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(CheckpointManifest.self, from: data) } catch {
            throw Checkpoint.LoadError(description: "\(url.path): not a valid checkpoint manifest: \(error)")
        }
    }

    /// Writes a new manifest for the files now in checkpoint `folder` — after a deliberate
    /// edit by hand (or a test), which a manifest would otherwise reject.
    static func reseal(_ folder: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0 != fileName }
        var files: [String: Data] = [:]
        for name in names { files[name] = try Data(contentsOf: folder.appendingPathComponent(name)) }
        try FileWriter.write(try CheckpointManifest(files: files).encoded(), to: folder.appendingPathComponent(fileName).path)
    }

    /// Throws unless file `name` with bytes `data` is listed with the SHA-256 it has.
    func verify(_ name: String, _ data: Data, in folder: URL, hash: String? = nil) throws {
        let path = folder.appendingPathComponent(name).path
        guard let expected = files[name] else {
            throw Checkpoint.LoadError(description: "\(path): not listed in \(Self.fileName); the checkpoint was altered")
        }
        let actual = hash ?? SHA256.hex(of: data)
        guard actual == expected else {
            throw Checkpoint.LoadError(description: "\(path): checksum mismatch: \(Self.fileName) records SHA-256 \(expected.prefix(16))…, the file (\(data.count) bytes) has \(actual.prefix(16))…; the file is damaged or was edited")
        }
    }
}
