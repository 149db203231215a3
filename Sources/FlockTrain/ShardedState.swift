import FlockParallel
import FlockTensor
import Foundation

/// Checkpoint files of a sharded (model-parallel) job and loading any checkpoint into any
/// layout.
///
/// Each shard — one pipeline stage's tensor slice — is written by its first data replica
/// as `model.<shard>.safetensors`, `optimizer.<shard>.safetensors` (each optimizer buffer
/// per parameter, named `<buffer>/<parameter>`) and, with EarlyStopping's best weights,
/// `best_model.<shard>.safetensors`. Tensors keep their global names; the header's
/// `__metadata__` holds `flock.placements`, a JSON object giving each tensor's global
/// shape and the range it holds. Loading reads every shard (or an unsharded
/// `model.safetensors`), puts each range in its place in the global tensors, checks that
/// every value is covered, and then cuts out what this rank holds: a checkpoint written
/// by one layout resumes in another, with no converter.
public enum ShardedState {
    static let placementsKey = "flock.placements"

    /// A shard file: `values` laid out as `layout` (local shapes), each tensor with its placement.
    static func file(layout: [(name: String, shape: [Int])], values: [Float],
                     placements: [String: ShardPlacement]) throws -> SafeTensorsFile {
        try file(layout: layout, placements: placements) { emit in try values.withUnsafeBufferPointer(emit) }
    }

    /// A shard file streamed from `values` (see `SafeTensorsFile.ValueSource`), each tensor
    /// with its placement.
    static func file(layout: [(name: String, shape: [Int])], placements: [String: ShardPlacement],
                     values: @escaping SafeTensorsFile.ValueSource) throws -> SafeTensorsFile {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let placed = Dictionary(uniqueKeysWithValues: layout.map { ($0.name, placements[$0.name] ?? .whole($0.shape)) })
        let metadata = [placementsKey: String(decoding: try encoder.encode(placed), as: UTF8.self)]
        return SafeTensorsFile(layout: layout, metadata: metadata, values: values)
    }

    /// A shard file's bytes (see `file`).
    static func encode(layout: [(name: String, shape: [Int])], values: [Float], placements: [String: ShardPlacement]) throws -> Data {
        try file(layout: layout, values: values, placements: placements).encoded()
    }

    /// A shard file's tensors and their placements (whole when the file names none).
    static func decode(_ data: Data, path: String) throws -> (tensors: [String: Tensor], placements: [String: ShardPlacement]) {
        let (tensors, metadata) = try SafeTensors.decodeWithMetadata(data, path: path)
        return (tensors, try placements(in: metadata, path: path))
    }

    /// The placements a file's `__metadata__` names (none: every tensor whole).
    static func placements(in metadata: [String: String], path: String) throws -> [String: ShardPlacement] {
        do {
            return try JSONDecoder().decode([String: ShardPlacement].self, from: Data((metadata[placementsKey] ?? "{}").utf8))
        } catch {
            throw Checkpoint.LoadError(description: "\(path): __metadata__ \(placementsKey) is not a map of placements: \(error)")
        }
    }
}

/// Global tensors put together from shards: decoded in memory (`add`, an older
/// checkpoint's files) or read by ranges from files (`LazyTensorFile`), tracking which
/// values some shard supplied.
public struct GlobalTensors {
    /// Whole global tensors decoded in memory, with which values a shard supplied.
    private var decoded: [String: Tensor] = [:]
    private var covered: [String: [Bool]] = [:]
    private var files: [LazyTensorFile] = []

    public init() {}

    /// Whole tensors (an unsharded file).
    public init(whole: [String: Tensor]) {
        decoded = whole
        covered = whole.mapValues { [Bool](repeating: true, count: $0.count) }
    }

    /// Tensors read by ranges from `files`. Throws naming a file whose tensor disagrees
    /// with another file's on the global shape.
    init(files: [LazyTensorFile]) throws {
        var shapes: [String: [Int]] = [:]
        for file in files {
            for (name, placement) in file.placements.sorted(by: { $0.key < $1.key }) {
                if let existing = shapes[name], existing != placement.globalShape {
                    throw Checkpoint.LoadError(description: "\(file.path): \(name) has global shape \(placement.globalShape), another shard says \(existing)")
                }
                shapes[name] = placement.globalShape
            }
        }
        self.files = files
    }

    /// Every tensor's name.
    public var names: Set<String> {
        Set(decoded.keys).union(files.flatMap(\.placements.keys))
    }

    /// The global shape of tensor `name`, if some shard holds it.
    public func shape(of name: String) -> [Int]? {
        decoded[name]?.shape ?? files.lazy.compactMap { $0.placements[name]?.globalShape }.first
    }

    /// Every tensor whole (values no shard holds read as zero). Reads every file.
    public func wholeTensors() throws -> [String: Tensor] {
        var tensors = decoded
        for name in names where decoded[name] == nil {
            let shape = shape(of: name)!
            var values = [Float](repeating: 0, count: shape.reduce(1, *))
            try values.withUnsafeMutableBufferPointer { local in
                for file in files { _ = try file.read(name, within: .whole(shape), into: local) }
            }
            tensors[name] = Tensor(shape: shape, scalars: values)
        }
        return tensors
    }

    /// Adds a shard file's tensors at their placements. Throws naming the file when a
    /// placement does not fit its tensor or disagrees with another shard on the global shape.
    public mutating func add(_ local: [String: Tensor], placements: [String: ShardPlacement], source: String) throws {
        for (name, tensor) in local {
            let placement = placements[name] ?? .whole(tensor.shape)
            guard placement.localShape == tensor.shape, placement.fitsItsGlobalShape else {
                throw Checkpoint.LoadError(description: "\(source): \(name) has shape \(tensor.shape), which does not fit its placement \(placement.describe)")
            }
            if let existing = decoded[name], existing.shape != placement.globalShape {
                throw Checkpoint.LoadError(description: "\(source): \(name) has global shape \(placement.globalShape), another shard says \(existing.shape)")
            }
            var global = decoded[name] ?? Tensor(zeros: placement.globalShape)
            var mask = covered[name] ?? [Bool](repeating: false, count: global.count)
            tensor.scalars.withUnsafeBufferPointer { values in
                global.scalars.withUnsafeMutableBufferPointer { placement.insert(values, into: $0) }
            }
            [Bool](repeating: true, count: tensor.count).withUnsafeBufferPointer { values in
                mask.withUnsafeMutableBufferPointer { placement.insert(values, into: $0) }
            }
            decoded[name] = global
            covered[name] = mask
        }
    }

    /// This rank's part of global tensor `name`, checked: present, of the expected global
    /// shape, every value of the range supplied by some shard. From files, only the
    /// blocks holding the range are read.
    public func extract(_ name: String, placement: ShardPlacement, source: String) throws -> [Float] {
        guard let shape = shape(of: name) else { throw Checkpoint.LoadError(description: "\(source): has no tensor \(name)") }
        guard shape == placement.globalShape else {
            throw Checkpoint.LoadError(description: "\(source): \(name) has shape \(shape), the model needs \(placement.globalShape)")
        }
        var local = [Float](repeating: 0, count: placement.localShape.reduce(1, *))
        let complete: Bool
        if let global = decoded[name] {
            var supplied = [Bool](repeating: false, count: local.count)
            global.scalars.withUnsafeBufferPointer { values in local.withUnsafeMutableBufferPointer { placement.extract(from: values, into: $0) } }
            covered[name]!.withUnsafeBufferPointer { values in supplied.withUnsafeMutableBufferPointer { placement.extract(from: values, into: $0) } }
            complete = !supplied.contains(false)
        } else {
            var filled: [Range<Int>] = []
            try local.withUnsafeMutableBufferPointer { buffer in
                for file in files { filled += try file.read(name, within: placement, into: buffer) }
            }
            complete = Self.covers(filled, count: local.count)
        }
        guard complete else {
            throw Checkpoint.LoadError(description: "\(source): no shard holds all of \(name) \(placement.describe): the checkpoint is missing a shard")
        }
        return local
    }

    /// Names not in `expected` (a checkpoint of another model).
    public func unexpectedNames(_ expected: Set<String>) -> [String] {
        names.filter { !expected.contains($0) }.sorted()
    }

    /// Whether `ranges` together cover `0..<count`.
    private static func covers(_ ranges: [Range<Int>], count: Int) -> Bool {
        var reached = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            guard range.lowerBound <= reached else { return false }
            reached = max(reached, range.upperBound)
        }
        return reached >= count
    }
}

extension ShardPlacement {
    /// Whether the slice lies within the global shape.
    var fitsItsGlobalShape: Bool {
        guard let axis else { return true }
        return globalShape.indices.contains(axis) && start >= 0 && length >= 0 && start + length <= globalShape[axis]
    }

    var describe: String {
        guard let axis else { return "(whole, global shape \(globalShape))" }
        return "(\(start)..<\(start + length) on axis \(axis) of global shape \(globalShape))"
    }
}
