import Foundation

/// One file of a checkpoint: bytes in hand (a config, a state, a shard received from
/// another rank) or tensors streamed from where they lie (see `SafeTensorsFile`), so a
/// checkpoint of a large model is written without a copy of its weights or moments.
public enum CheckpointFile {
    case bytes(Data)
    case tensors(SafeTensorsFile)

    /// Streams the file into `output`.
    func write(to output: SyncedFileOutput) throws {
        switch self {
        case .bytes(let data): try output.append(data)
        case .tensors(let file): try file.stream { try output.append($0) }
        }
    }
}
