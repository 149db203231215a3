import Foundation

/// The memory a process may use: its cgroup's limit (v2 `memory.max`, v1
/// `memory.limit_in_bytes`) and the node's `MemAvailable`, whichever is less.
public struct AvailableMemory: Sendable, Equatable {
    /// The cgroup's limit in bytes; nil when there is none.
    public let cgroupLimit: Int?
    /// `MemAvailable` of /proc/meminfo in bytes; nil where it cannot be read.
    public let nodeAvailable: Int?

    public init(cgroupLimit: Int?, nodeAvailable: Int?) {
        self.cgroupLimit = cgroupLimit
        self.nodeAvailable = nodeAvailable
    }

    /// What this process sees now.
    public static func current() -> AvailableMemory {
        AvailableMemory(cgroupLimit: ownCgroupLimit(), nodeAvailable: memAvailable())
    }

    /// A rank's share: the cgroup limit split over the ranks in this process (ranks as
    /// threads), the node's available memory over the ranks on this node; nil when
    /// neither is known.
    public func perRank(ranksInProcess: Int, ranksOnNode: Int) -> Int? {
        let shares = [cgroupLimit.map { $0 / max(1, ranksInProcess) }, nodeAvailable.map { $0 / max(1, ranksOnNode) }]
        return shares.compactMap { $0 }.min()
    }

    static func memAvailable() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    /// The limit of this process's memory cgroup, v2 or v1; nil when unlimited or unknown.
    static func ownCgroupLimit() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            let file: String
            if fields[1].split(separator: ",").contains("memory") {
                file = "/sys/fs/cgroup/memory\(path)/memory.limit_in_bytes"
            } else if fields[0] == "0" && fields[1].isEmpty {
                file = "/sys/fs/cgroup\(path == "/" ? "" : path)/memory.max"
            } else { continue }
            guard let value = try? String(contentsOfFile: file, encoding: .utf8),
                  let bytes = Int(value.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            // v1 writes "unlimited" as a page-rounded Int64.max; v2 writes "max" (not a number).
            if bytes < 1 << 60 { return bytes }
        }
        return nil
    }
}
