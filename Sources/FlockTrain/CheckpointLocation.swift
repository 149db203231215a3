import Foundation

/// What a user may name when a command wants a trained model: a checkpoint folder (or a
/// run's `checkpoints/last`), or a run directory, which means its best checkpoint by the
/// run's monitored metric when it kept one with a value, else its last.
public enum CheckpointLocation {
    /// The checkpoint folder `path` means, and a sentence saying which one was chosen.
    public static func resolve(_ path: String) throws -> (folder: URL, choice: String) {
        let url = URL(fileURLWithPath: path)
        let manager = FileManager.default
        guard manager.fileExists(atPath: path) else {
            throw Checkpoint.LoadError(description: "\(path): no such checkpoint or run directory")
        }
        if manager.fileExists(atPath: url.appendingPathComponent("state.json").path) {
            return (url, "checkpoint \(url.resolvingSymlinksInPath().path)")
        }
        let last = url.appendingPathComponent("checkpoints/last")
        guard manager.fileExists(atPath: last.appendingPathComponent("state.json").path) else {
            throw Checkpoint.LoadError(description: "\(path): neither a checkpoint (no state.json) nor a run directory (no checkpoints/last)")
        }
        // Only state.json and config.yaml: the chosen checkpoint is loaded (and verified) by the caller.
        let folder = last.resolvingSymlinksInPath(), name = folder.lastPathComponent
        let state = try Checkpoint.readState(folder)
        if let yaml = try? String(contentsOf: folder.appendingPathComponent("config.yaml"), encoding: .utf8),
           let config = try? ConfigLoader.decode(yaml: yaml, baseDirectory: "/"), var policy = config.callbacks.modelCheckpoint {
            policy.state = (try? state.callbacks[TrainingState.modelCheckpointKey]?.decode(ModelCheckpoint.State.self)) ?? policy.state
            if let best = policy.best, let value = best.value,
               manager.fileExists(atPath: url.appendingPathComponent("checkpoints/\(best.name)/state.json").path) {
                return (url.appendingPathComponent("checkpoints/\(best.name)"),
                        "the run's best checkpoint \(best.name) (\(policy.monitor) \(String(format: "%.4g", value)))")
            }
        }
        return (last, "the run's last checkpoint \(name)")
    }
}
