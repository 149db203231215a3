import Foundation

/// Each rank's peak resident memory, for `summary.json` and `flock bench memory`.
extension Trainer {
    /// This process's peak resident set so far (`getrusage`'s `ru_maxrss`, kilobytes on
    /// Linux), in bytes. Ranks run as threads share one process, so they report one figure.
    static func processPeakResidentBytes() -> Int64 {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Int64(usage.ru_maxrss) * 1024
    }

    /// Every rank's peak resident bytes, by rank (a sum over the world of vectors that are
    /// zero but at each rank's own place). Collective.
    func peakResidentBytesOfEveryRank() throws -> [Int64] {
        guard let world = parts.world, world.size > 1 else { return [Self.processPeakResidentBytes()] }
        var mine = [Int64](repeating: 0, count: world.size)
        mine[world.rank] = Self.processPeakResidentBytes()
        return try world.allreduce(mine, operation: .sum)
    }
}
