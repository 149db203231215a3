import FlockComm
import FlockTensor
import FlockTrain
import Foundation

/// What a benchmark result was measured on, so two results can be compared honestly:
/// the CPU, cores, BLAS kernel and threads, MPI library, the load average before and after,
/// and Flock's version (the git commit of the checkout it was built from, when there is one).
public struct BenchmarkMachine: Sendable {
    public let cpu: String
    public let cores: Int
    public let kernel: String
    public let threads: Int
    public let mpi: String
    public let loadBefore: Double
    public var loadAfter: Double
    public let flockVersion: String

    /// The machine now (load average over the last minute), for a run on `threads` BLAS threads.
    public static func now(threads: Int) -> BenchmarkMachine {
        let info = CPUInfo.current()
        return BenchmarkMachine(cpu: info.model, cores: info.cores, kernel: BLASKernel.coreName, threads: threads,
                                mpi: MPIEnvironment.libraryVersion.split(separator: ",").first.map(String.init) ?? "unknown",
                                loadBefore: loadAverage(), loadAfter: loadAverage(), flockVersion: checkoutCommit() ?? "unknown")
    }

    /// The same record with the load average after the measurement.
    public func finished() -> BenchmarkMachine {
        var copy = self
        copy.loadAfter = Self.loadAverage()
        return copy
    }

    public var json: [String: Any] {
        ["cpu": cpu, "cores": cores, "blas_kernel": kernel, "blas_threads": threads, "mpi": mpi,
         "load_before": loadBefore, "load_after": loadAfter, "flock_version": flockVersion]
    }

    public var summary: String {
        String(format: "machine: %@, %d cores, %@ kernel, MPI %@, load %.2f → %.2f, flock %@", cpu, cores, kernel, mpi,
               loadBefore, loadAfter, flockVersion)
    }

    static func loadAverage() -> Double {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) > 0 ? loads[0] : -1
    }

    /// The commit of the git checkout above the running executable (`.build/…/flock`).
    static func checkoutCommit() -> String? {
        var folder = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            if let directories = gitDirectories(of: folder) { return commit(git: directories.git, common: directories.common) }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    /// A checkout's git directories: `.git` itself, or for a worktree (whose `.git` is a
    /// file `gitdir: …`) its own directory (HEAD) and the shared one it names in
    /// `commondir` (refs).
    static func gitDirectories(of folder: URL) -> (git: URL, common: URL)? {
        let dotGit = folder.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { return (dotGit, dotGit) }
        guard let text = try? String(contentsOf: dotGit, encoding: .utf8), text.hasPrefix("gitdir: ") else { return nil }
        func resolve(_ path: String, from base: URL) -> URL {
            path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path).standardizedFileURL
        }
        let git = resolve(text.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines), from: folder)
        let common = (try? String(contentsOf: git.appendingPathComponent("commondir"), encoding: .utf8))
            .map { resolve($0.trimmingCharacters(in: .whitespacesAndNewlines), from: git) } ?? git
        return (git, common)
    }

    /// The first 12 hex digits of the commit `git`'s HEAD names (refs read from `common`).
    static func commit(git: URL, common: URL) -> String? {
        guard let text = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) else { return nil }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("ref: ") else { return String(line.prefix(12)) }
        let name = String(line.dropFirst(5))
        if let commit = try? String(contentsOf: common.appendingPathComponent(name), encoding: .utf8) { return String(commit.prefix(12)) }
        // A packed ref.
        let packed = (try? String(contentsOf: common.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
        return packed.split(separator: "\n").first { $0.hasSuffix(" " + name) }.map { String($0.prefix(12)) }
    }
}
