import FlockTensor
import Foundation

/// How many threads OpenBLAS gets per rank: all cores for one rank, the cores divided
/// among the ranks of a node otherwise (ranks × threads ≤ cores, at least one each).
/// A thread count the user set in the environment is left alone.
public enum BLASThreads {
    /// Variables OpenBLAS reads its thread count from.
    public static let userVariables = ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"]

    /// Threads per rank, or nil when the user chose (then OpenBLAS follows the environment).
    public static func perRank(cores: Int, ranksOnNode: Int, environment: [String: String]) -> Int? {
        if userVariables.contains(where: { environment[$0] != nil }) { return nil }
        return max(1, cores / max(1, ranksOnNode))
    }

    /// Sets OpenBLAS's process-wide thread count for `ranksOnNode` ranks sharing this node's
    /// cores. Ranks that are threads of one process share the setting, so they count as
    /// ranks on the node too. Returns the count in effect.
    @discardableResult
    public static func apply(ranksOnNode: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let threads = perRank(cores: ProcessInfo.processInfo.activeProcessorCount, ranksOnNode: ranksOnNode, environment: environment) {
            BLAS.setThreadCount(threads)
        }
        return BLAS.threadCount
    }
}
