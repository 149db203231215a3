import Foundation

/// A cgroup memory limit for one child process (v1 `memory.limit_in_bytes`, or v2
/// `memory.max`): the kernel kills the child (SIGKILL) when its memory, page cache
/// included, cannot be kept under the limit. Needs root and a memory controller.
public struct MemoryLimit {
    public let folder: URL
    private let procsFile: URL

    /// Creates the group; throws a readable error where no memory controller can be written.
    public init(bytes: Int) throws {
        let name = "flock-test-\(UUID().uuidString)"
        let version1 = URL(fileURLWithPath: "/sys/fs/cgroup/memory")
        let version2 = URL(fileURLWithPath: "/sys/fs/cgroup")
        let manager = FileManager.default
        if manager.fileExists(atPath: version1.appendingPathComponent("memory.limit_in_bytes").path) {
            folder = version1.appendingPathComponent(name)
            try manager.createDirectory(at: folder, withIntermediateDirectories: false)
            try "\(bytes)".write(to: folder.appendingPathComponent("memory.limit_in_bytes"), atomically: false, encoding: .utf8)
        } else if (try? String(contentsOf: version2.appendingPathComponent("cgroup.subtree_control"), encoding: .utf8))?
                    .contains("memory") == true {
            folder = version2.appendingPathComponent(name)
            try manager.createDirectory(at: folder, withIntermediateDirectories: false)
            try "\(bytes)".write(to: folder.appendingPathComponent("memory.max"), atomically: false, encoding: .utf8)
            try? "0".write(to: folder.appendingPathComponent("memory.swap.max"), atomically: false, encoding: .utf8)
        } else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey:
                "no writable cgroup memory controller (run the tests as root on Linux with cgroup v1 memory or v2 +memory)"])
        }
        procsFile = folder.appendingPathComponent("cgroup.procs")
    }

    /// Runs `executable` inside the group: a shell joins it, then execs the command.
    public func run(_ executable: URL, _ arguments: [String], timeout: TimeInterval,
                    directory: URL = ChildProcess.repositoryRoot) throws -> ChildProcess.Outcome {
        try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"),
                             ["-c", "echo $$ > \"$0\" && exec \"$@\"", procsFile.path, executable.path] + arguments,
                             timeout: timeout, directory: directory)
    }

    /// The file a process writes its pid to, to join the group (a wrapper of its own).
    public var procsPath: String { procsFile.path }

    /// The most memory the group's processes held at once (v1 `memory.max_usage_in_bytes`,
    /// v2 `memory.peak`); nil where the kernel does not say.
    public var peakBytes: Int? {
        for name in ["memory.max_usage_in_bytes", "memory.peak"] {
            if let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8),
               let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return bytes }
        }
        return nil
    }

    /// Removes the group (after its processes are gone).
    public func remove() { rmdir(folder.path) }
}
