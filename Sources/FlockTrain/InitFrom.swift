import FlockNN
import FlockParallel
import Foundation

/// `init_from: {checkpoint: PATH, exclude: ["layers.3.*"]}`: before training, every
/// parameter and buffer of the model whose name and shape match a tensor of that
/// checkpoint (a checkpoint folder, or a run directory: its best or last) takes its value;
/// the rest keep their fresh initialization. Transfer learning: change the head's units
/// and it is "shape-mismatched", so it starts fresh.
public struct InitFromConfig: Codable, Equatable, Sendable {
    public var checkpoint: String
    /// Names to leave out, `*` matching any run of characters (`layers.3.*`).
    public var exclude: [String]

    enum CodingKeys: String, CodingKey, CaseIterable { case checkpoint, exclude }

    public init(checkpoint: String, exclude: [String] = []) {
        self.checkpoint = checkpoint
        self.exclude = exclude
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
        exclude = try c.value(.exclude, or: [])
    }
}

/// What `init_from` did, tensor by tensor, for the log.
public struct InitializationReport: Sendable, Equatable, CustomStringConvertible {
    public var source = ""
    public var loaded: [String] = []
    public var excluded: [String] = []
    /// In the model, not in the checkpoint.
    public var missing: [String] = []
    /// Name, the checkpoint's shape, the model's.
    public var mismatched: [String] = []

    public var description: String {
        var lines = ["init_from \(source): loaded \(loaded.count): \(loaded.joined(separator: ", "))"]
        if !mismatched.isEmpty { lines.append("  shape-mismatched, left fresh \(mismatched.count): \(mismatched.joined(separator: "; "))") }
        if !missing.isEmpty { lines.append("  not in the checkpoint, left fresh \(missing.count): \(missing.joined(separator: ", "))") }
        if !excluded.isEmpty { lines.append("  excluded \(excluded.count): \(excluded.joined(separator: ", "))") }
        // Weights only: a new run's optimizer, step count and schedule start from the beginning.
        lines.append("  the optimizer starts fresh (its state, step count and schedule are not taken from the checkpoint)")
        return lines.joined(separator: "\n")
    }

    /// Sets `model`'s matching parameters and buffers from `settings.checkpoint`.
    public static func initialize(_ model: Model, from settings: InitFromConfig) throws -> InitializationReport {
        let (report, checkpoint) = try matching(model.parameters.stateLayout, from: settings)
        try model.parameters.restore(Set(report.loaded), from: checkpoint.modelTensors, source: checkpoint.url.path) { .whole($1) }
        return report
    }

    /// Which of the tensors `layout` names (the whole model's parameters and buffers, with
    /// their whole shapes) `settings.checkpoint` holds at the same shape and `exclude`
    /// leaves in, and the checkpoint, opened by its headers (no values read yet).
    static func matching(_ layout: [(name: String, shape: [Int])], from settings: InitFromConfig) throws -> (InitializationReport, Checkpoint) {
        let (folder, choice) = try CheckpointLocation.resolve(settings.checkpoint)
        let checkpoint = try Checkpoint.load(folder)
        var report = InitializationReport(source: choice)
        for entry in layout {
            if settings.exclude.contains(where: { Self.matches(entry.name, pattern: $0) }) {
                report.excluded.append(entry.name)
            } else if let shape = checkpoint.modelTensors.shape(of: entry.name) {
                guard shape == entry.shape else {
                    report.mismatched.append("\(entry.name) \(shape) in the checkpoint, \(entry.shape) here")
                    continue
                }
                report.loaded.append(entry.name)
            } else {
                report.missing.append(entry.name)
            }
        }
        return (report, checkpoint)
    }

    /// Whether `name` matches `pattern`, where `*` matches any run of characters.
    static func matches(_ name: String, pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return name == pattern }
        guard name.hasPrefix(parts[0]), name.hasSuffix(parts.last!), name.count >= parts[0].count + parts.last!.count else { return false }
        var rest = name.dropFirst(parts[0].count).dropLast(parts.last!.count)
        for middle in parts.dropFirst().dropLast() where !middle.isEmpty {
            guard let found = rest.range(of: middle) else { return false }
            rest = rest[found.upperBound...]
        }
        return true
    }
}
