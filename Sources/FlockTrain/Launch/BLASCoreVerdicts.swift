import FlockParallel
import Foundation

/// The self-check verdicts for one CPU model and OpenBLAS build, cached in
/// `$XDG_CACHE_HOME/flock` (or `~/.cache/flock`) so that the ranks of a job and the trials
/// of a sweep do not each run the check.
///
/// The first process to get here takes an exclusive `flock(2)` lock on the cache entry,
/// runs the check and writes the verdicts (temporary file, then rename); the others wait
/// for the lock and read them.
public struct BLASCoreVerdicts: Codable, Sendable, Equatable {
    public struct Verdict: Codable, Sendable, Equatable {
        public var core: String
        public var passed: Bool
        /// Why it failed: a wrong product, a crash, a core OpenBLAS does not know.
        public var reason: String
    }

    /// What the entry is for: CPU model, vector features, OpenBLAS build string.
    public var key: String
    public var verdicts: [Verdict]

    /// The best core that passed.
    public var chosen: String? { verdicts.first { $0.passed }?.core }

    /// The cache folder, or nil when there is no home to put it in.
    public static func folder(environment: [String: String]) -> URL? {
        if let cache = environment["XDG_CACHE_HOME"], !cache.isEmpty {
            return URL(fileURLWithPath: cache).appendingPathComponent("flock")
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/flock")
    }

    /// The cached verdicts for `key`, or `check()`'s, stored for the next process. Without a
    /// usable cache folder the check simply runs.
    public static func cached(key: String, environment: [String: String], check: () -> [Verdict]) -> BLASCoreVerdicts {
        guard let folder = folder(environment: environment),
              (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else {
            return BLASCoreVerdicts(key: key, verdicts: check())
        }
        let name = "blas-core-\(String(ModelConsistency.fnv1a(key), radix: 16))"
        let file = folder.appendingPathComponent("\(name).json")
        let lock = open(folder.appendingPathComponent("\(name).lock").path, O_CREAT | O_RDWR, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { flock(lock, LOCK_UN); close(lock) } }
        if let data = FileManager.default.contents(atPath: file.path),
           let stored = try? JSONDecoder().decode(BLASCoreVerdicts.self, from: data), stored.key == key {
            return stored
        }
        let fresh = BLASCoreVerdicts(key: key, verdicts: check())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = try? encoder.encode(fresh) { try? AtomicFile.write(data, to: file) }
        return fresh
    }
}
