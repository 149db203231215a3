import FlockStore
import FlockTensor
import Foundation

/// A checkpoint directory: `model.safetensors`, `optimizer.safetensors`, `config.yaml`
/// (the resolved config, to explain a mismatch), `preprocessing.json` (what the data was
/// put through, see `Preprocessing`), optionally `best_model.safetensors`
/// (EarlyStopping's best weights), and `state.json` (epoch, step, RNG states, callback
/// states, config hash, world layout, and a SHA-256 of every other file), and
/// `manifest.json` (see `CheckpointManifest`): a SHA-256 of every file, `state.json`
/// included, so a damaged or hand-edited state is caught like a damaged tensor file.
///
/// Writing never leaves a half-written checkpoint under its final name: the files go to a
/// temporary folder, each is fsynced, the folder is renamed, and only then does the
/// `last` link move to it (itself replaced by a rename).
///
/// A sharded (model-parallel) job writes each shard's files instead of the first three
/// (`model.<shard>.safetensors`, …; see `ShardedState`); loading puts either kind together
/// into global tensors, so any checkpoint loads into any layout.
public struct Checkpoint {
    public let url: URL
    public let state: TrainingState
    /// The whole model's parameters and buffers by name.
    public let modelTensors: GlobalTensors
    /// An unsharded checkpoint's optimizer buffers, each flat ([count]) in the whole
    /// model's slot order.
    public let flatOptimizer: GlobalTensors?
    /// A sharded checkpoint's optimizer buffers per parameter (`<buffer>/<parameter>`).
    public let optimizerTensors: GlobalTensors?
    public let bestModelTensors: GlobalTensors?
    /// What the training data was put through (nil in checkpoints written before it was saved).
    public var preprocessing: Preprocessing?
    /// The resolved config that wrote the checkpoint.
    public var configYAML: String?

    /// Every model tensor whole (reads every model file).
    public var model: [String: Tensor] { get throws { try modelTensors.wholeTensors() } }
    public var bestModel: [String: Tensor]? { get throws { try bestModelTensors?.wholeTensors() } }
    /// An unsharded checkpoint's optimizer buffers, flat (reads the whole file).
    public var optimizer: [String: [Float]] {
        get throws { try (flatOptimizer?.wholeTensors() ?? [:]).mapValues(\.scalars) }
    }

    public init(url: URL, state: TrainingState, modelTensors: GlobalTensors, flatOptimizer: GlobalTensors?,
                optimizerTensors: GlobalTensors?, bestModelTensors: GlobalTensors?) {
        self.url = url
        self.state = state
        self.modelTensors = modelTensors
        self.flatOptimizer = flatOptimizer
        self.optimizerTensors = optimizerTensors
        self.bestModelTensors = bestModelTensors
    }

    /// An unsharded checkpoint's contents.
    public init(url: URL, state: TrainingState, model: [String: Tensor], optimizer: [String: [Float]],
                bestModel: [String: Tensor]?) {
        self.init(url: url, state: state, modelTensors: GlobalTensors(whole: model),
                  flatOptimizer: GlobalTensors(whole: optimizer.mapValues { Tensor(shape: [$0.count], scalars: $0) }),
                  optimizerTensors: nil, bestModelTensors: bestModel.map(GlobalTensors.init(whole:)))
    }

    /// A checkpoint that cannot be used, and exactly why.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes checkpoint `name` holding `files` (model and optimizer files, whole or
    /// sharded), `config.yaml` and `state.json`. Each file is streamed to disk and hashed
    /// as it goes; `state.json` (which lists the others' checksums) and the manifest come last.
    /// `afterEachStep` runs after each file is written and after the folder is committed
    /// (fault tests pause there to kill a writer mid-checkpoint).
    @discardableResult
    /// Files other ranks already wrote into `prepared` (its temporary folder, see
    /// `temporaryFolder`) are listed by their hashes in `written`.
    public static func write(name: String, in folder: URL, files: [String: CheckpointFile], configYAML: String,
                             state: TrainingState, prepared: URL? = nil, written: [String: FileDigests] = [:],
                             afterEachStep: () -> Void = {}) throws -> URL {
        let manager = FileManager.default
        let final = folder.appendingPathComponent(name)
        let temporary = prepared ?? temporaryFolder(name: name, in: folder, writer: Int(ProcessInfo.processInfo.processIdentifier))
        if prepared == nil {
            try? manager.removeItem(at: temporary)
            try FileWriter.createDirectory(temporary)
        }
        var files = files
        files["config.yaml"] = .bytes(Data(configYAML.utf8))
        do {
            var digests = written
            for name in files.keys.sorted() {
                digests[name] = try writeSynced(files[name]!, to: temporary.appendingPathComponent(name))
                afterEachStep()
            }
            var hashes = digests.mapValues(\.sha256)
            var state = state
            state.files = hashes
            state.fileBlocks = digests.compactMapValues(\.blocks).filter { $0.key.hasSuffix(".safetensors") }
            let encoder = JSONValue.encoder
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // state.json and the manifest last: a folder with them has everything before them.
            hashes["state.json"] = try writeSynced(.bytes(try encoder.encode(state)), to: temporary.appendingPathComponent("state.json")).sha256
            afterEachStep()
            let manifest = try CheckpointManifest(hashes: hashes).encoded()
            try writeSynced(.bytes(manifest), to: temporary.appendingPathComponent(CheckpointManifest.fileName))
            afterEachStep()
        } catch {
            // A full disk: give back what this checkpoint took; the last one stays whole.
            try? manager.removeItem(at: temporary)
            throw error
        }
        try syncDirectory(temporary)
        if manager.fileExists(atPath: final.path) { try manager.removeItem(at: final) }
        try rename(temporary, final)
        try syncDirectory(folder)
        afterEachStep()
        // Move `last` with a rename, which replaces the old link in one step.
        let link = folder.appendingPathComponent(".last-\(ProcessInfo.processInfo.processIdentifier)")
        try? manager.removeItem(at: link)
        guard symlink(name, link.path) == 0 else { throw FileWriter.Failure(path: link.path, operation: "create the link", code: errno) }
        try rename(link, folder.appendingPathComponent("last"))
        try syncDirectory(folder)
        return final
    }

    /// Where checkpoint `name` is put together before it is committed by process `writer`.
    public static func temporaryFolder(name: String, in folder: URL, writer: Int) -> URL {
        folder.appendingPathComponent(".tmp-\(name)-\(writer)")
    }

    /// A checkpoint folder's `state.json` alone (no tensor file is read), checked against
    /// the manifest's checksum; a checkpoint written before manifests loads unchecked.
    public static func readState(_ folder: URL) throws -> TrainingState {
        let statePath = folder.appendingPathComponent("state.json")
        guard let stateData = FileManager.default.contents(atPath: statePath.path) else {
            throw LoadError(description: "\(statePath.path): missing: the checkpoint is incomplete")
        }
        let manifest = try CheckpointManifest.read(folder)
        try manifest?.verify("state.json", stateData, in: folder)
        let state: TrainingState
        do { state = try TrainingState.decoded(from: stateData) } catch {
            throw LoadError(description: "\(statePath.path): not a valid checkpoint state: \(error)")
        }
        guard (1...TrainingState.currentFormatVersion).contains(state.formatVersion) else {
            throw LoadError(description: "\(statePath.path): format_version \(state.formatVersion): this Flock reads versions 1...\(TrainingState.currentFormatVersion)")
        }
        if manifest == nil && state.formatVersion >= CheckpointManifest.firstStateVersion {
            throw LoadError(description: "\(folder.appendingPathComponent(CheckpointManifest.fileName).path): missing, but state.json (format \(state.formatVersion)) was written with one; the checkpoint is incomplete")
        }
        return state
    }

    /// A checkpoint's config decoded and written again by this version, defaults filled in
    /// (fields added since take their defaults), so a checkpoint from before a new config
    /// field compares equal and still resumes.
    static func rewritten(_ written: String) -> String {
        (try? ConfigLoader.yaml(of: ConfigLoader.decode(yaml: written, baseDirectory: "/"))) ?? written
    }

    /// Loads and verifies a checkpoint folder (or the `last` link). With `configYAML`, the
    /// checkpoint must come from the same resolved config; the error lists what differs.
    public static func load(_ url: URL, expectingConfig configYAML: String? = nil) throws -> Checkpoint {
        let folder = url.resolvingSymlinksInPath()
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw LoadError(description: "\(url.path): no such checkpoint")
        }
        let state = try readState(folder)
        let files = try CheckpointContents(folder: folder, state: state, manifest: try CheckpointManifest.read(folder))
        guard let configData = files.decoded["config.yaml"] else { throw LoadError(description: "\(folder.path): state.json lists no config.yaml") }
        if let configYAML {
            let theirs = rewritten(String(decoding: configData, as: UTF8.self))
            // Another layout (pipeline stages, tensor slices, schedule) resumes the same job, and
            // so do fields that only extend or watch it (more epochs, loggers).
            let differences = theirs == configYAML ? [] : ConfigDifference.between(
                theirs, configYAML, ignoring: ConfigDifference.layoutFields + ConfigDifference.extendingFields)
            if !differences.isEmpty {
                throw LoadError(description: "\(folder.path): written by a different config: \(differences.joined(separator: "; "))")
            }
        }
        guard let model = try files.tensors("model") else {
            throw LoadError(description: "\(folder.path): state.json lists no model.safetensors (nor model shards)")
        }
        let flatOptimizer = try files.wholeFile("optimizer")
        let optimizerTensors = flatOptimizer == nil ? try files.tensors("optimizer") : nil
        guard flatOptimizer != nil || optimizerTensors != nil else {
            throw LoadError(description: "\(folder.path): state.json lists no optimizer.safetensors (nor optimizer shards)")
        }
        var checkpoint = Checkpoint(url: folder, state: state, modelTensors: model, flatOptimizer: flatOptimizer,
                                    optimizerTensors: optimizerTensors, bestModelTensors: try files.tensors("best_model"))
        checkpoint.configYAML = String(decoding: configData, as: UTF8.self)
        checkpoint.preprocessing = try files.decoded[Preprocessing.fileName].map {
            try Preprocessing.decode($0, path: folder.appendingPathComponent(Preprocessing.fileName).path)
        }
        return checkpoint
    }

    /// Copies `tensors` into `parameters`, checking names and shapes.
    public static func assign(_ tensors: [String: Tensor], to parameters: ParameterStore, source: String) throws {
        parameters.restoreState(try flatten(tensors, like: parameters, source: source))
    }

    /// `tensors` laid out as `parameters`' state (parameters in slot order, then buffers),
    /// checking names and shapes.
    public static func flatten(_ tensors: [String: Tensor], like parameters: ParameterStore, source: String) throws -> [Float] {
        let layout = parameters.stateLayout
        let expected = Set(layout.map(\.name)), found = Set(tensors.keys)
        if let missing = expected.subtracting(found).sorted().first {
            throw LoadError(description: "\(source): has no tensor \(missing)")
        }
        if let extra = found.subtracting(expected).sorted().first {
            throw LoadError(description: "\(source): has a tensor \(extra) that the model does not")
        }
        var flat: [Float] = []
        flat.reserveCapacity(parameters.stateCount)
        for slot in layout {
            let tensor = tensors[slot.name]!
            guard tensor.shape == slot.shape else {
                throw LoadError(description: "\(source): \(slot.name) has shape \(tensor.shape), the model needs \(slot.shape)")
            }
            flat += tensor.scalars
        }
        return flat
    }

    // MARK: Files

    /// Writes and fsyncs `file`; returns its SHA-256 (hex) and its blocks'.
    @discardableResult
    static func writeSynced(_ file: CheckpointFile, to url: URL) throws -> FileDigests {
        let output = try SyncedFileOutput(path: url.path, hashingBlocks: true)
        try file.write(to: output)
        return try output.finishWithDigests()
    }

    static func syncDirectory(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { throw RunDirectoryError(path: url.path, reason: "cannot open folder to sync") }
        defer { close(descriptor) }
        fsync(descriptor)
    }

    static func rename(_ from: URL, _ to: URL) throws {
        guard Foundation.rename(from.path, to.path) == 0 else {
            throw RunDirectoryError(path: to.path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }
}
