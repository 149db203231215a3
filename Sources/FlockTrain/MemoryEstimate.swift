import FlockData
import FlockNN
import Foundation

/// One rank's memory at its peak, estimated at start-up (as DeepSpeed's
/// `estimate_zero*_model_states_mem_needs`): the training state it holds, counted
/// exactly; one batch's activations and the data in memory, estimated; and a fixed
/// runtime. A layout whose state and runtime alone exceed what the rank may use is
/// refused before the optimizer allocates anything.
public struct MemoryEstimate: Sendable, Equatable {
    /// Parameters and buffers this rank holds (its shard under model parallelism).
    public var parameters: Int
    public var buffers: Int
    public var optimizerValuesPerParameter: Int
    /// Ranks the optimizer's state is sharded over (`parallel.zero: 1`); 1 when it is not.
    public var optimizerShards = 1
    /// Ranks the gradients between steps are sharded over (`parallel.zero: 2`); 1 when
    /// every rank keeps them all.
    public var gradientShards = 1
    /// Ranks the weights are sharded over (`parallel.zero: 3`); 1 when every rank holds
    /// them all. One layer's gathered weights come on top (counted with the runtime).
    public var parameterShards = 1
    /// Outputs of the layers this rank runs for its share of one batch, twice (the values
    /// backward keeps and their gradients): an estimate, not a count of every op.
    public var activationBytes: Int
    /// The training and validation splits held in memory.
    public var dataBytes: Int
    /// What the rank may use (see `AvailableMemory.perRank`); nil when unknown.
    public var available: Int?

    /// Swift's runtime, OpenBLAS's and MPI's buffers, the tape's pool: measured at 50–60 MB
    /// for a small model on one rank.
    public static let runtimeBytes = 64 << 20

    /// Weights and gradients (4 bytes each; gradients this rank's share), the optimizer's
    /// state (this rank's share), buffers.
    public var stateBytes: Int {
        4 * parameters / max(1, parameterShards) + 4 * parameters / max(1, gradientShards)
            + 4 * optimizerValuesPerParameter * parameters / max(1, optimizerShards) + 4 * buffers
    }

    /// Bytes per parameter as the line and the error write them: `16` or, sharded,
    /// `8 + 8/2` (zero 1), `4 + 4/2 + 8/2` (zero 2) and `16/2` (zero 3).
    var bytesPerParameter: String {
        let state = 4 * optimizerValuesPerParameter
        if parameterShards > 1 { return "\(8 + state)/\(parameterShards)" }
        if gradientShards > 1 { return "4 + 4/\(gradientShards) + \(state)/\(optimizerShards)" }
        return optimizerShards > 1 ? "8 + \(state)/\(optimizerShards)" : "\(8 + state)"
    }
    public var totalBytes: Int { stateBytes + activationBytes + dataBytes + Self.runtimeBytes }

    /// The start-up line: `memory per rank: ~0.35 GB = state 0.14 GB (8.5M parameters × 16 B) + …`.
    public var line: String {
        var text = "memory per rank: ~\(Self.gigabytes(totalBytes)) = state \(Self.gigabytes(stateBytes)) (\(Self.count(parameters)) parameters × \(bytesPerParameter) B) + activations ~\(Self.gigabytes(activationBytes)) + data \(Self.gigabytes(dataBytes)) + runtime \(Self.gigabytes(Self.runtimeBytes))"
        if let available { text += "; \(Self.gigabytes(available)) available" }
        return text
    }

    /// Throws when the state and runtime alone cannot fit in `available`.
    public func check() throws {
        guard let available, stateBytes + Self.runtimeBytes > available else { return }
        throw ConfigError(path: "parallel", "this rank would hold \(Self.gigabytes(stateBytes)) of training state (\(Self.count(parameters)) parameters × \(bytesPerParameter) bytes: weights, gradients, optimizer state) plus \(Self.gigabytes(Self.runtimeBytes)) of runtime, but may use \(Self.gigabytes(available)) (the cgroup limit or the node's available memory, shared by its ranks): shard the model over more ranks (parallel.pipeline, parallel.tensor) or use a smaller one")
    }

    /// Activations of `layers` (top level) for `rows` samples, by their output shapes.
    public static func activationBytes(of layers: [any Layer], rows: Int) -> Int {
        func outputs(_ layer: any Layer) -> Int {
            layer.children.isEmpty ? layer.outputShape.reduce(1, *) : layer.children.reduce(0) { $0 + outputs($1.layer) }
        }
        return 2 * 4 * rows * layers.reduce(0) { $0 + outputs($1) }
    }

    /// Bytes of the values of a split held in memory (0 for a streamed one).
    public static func dataBytes(of source: any SampleSource) -> Int {
        guard let dataset = source as? Dataset else { return 0 }
        return 4 * (dataset.features.count + dataset.targets.count)
    }

    static func gigabytes(_ bytes: Int) -> String {
        bytes >= 1_000_000_000 ? String(format: "%.2f GB", Double(bytes) / 1e9) : String(format: "%.0f MB", Double(bytes) / 1e6)
    }

    static func count(_ value: Int) -> String {
        value >= 1_000_000 ? String(format: "%.1fM", Double(value) / 1e6) : value >= 1_000 ? String(format: "%.1fk", Double(value) / 1e3) : "\(value)"
    }
}
