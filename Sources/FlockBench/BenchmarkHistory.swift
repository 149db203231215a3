import FlockStore
import Foundation

/// Benchmark results kept in the experiment store, for a history across builds and days.
public enum BenchmarkHistory {
    /// Records `result` (a benchmark's JSON object; its `machine` record is kept apart).
    public static func record(_ result: [String: Any], name: String, storePath: String) throws {
        let store = try ExperimentStore(path: storePath)
        let machine = result["machine"] as? [String: Any] ?? [:]
        var rest = result
        rest["machine"] = nil
        try store.recordBenchmark(name: name, flockVersion: machine["flock_version"] as? String ?? "unknown",
                                  machineJSON: try json(machine), resultJSON: try json(rest))
    }

    /// Records each benchmark of a `flock bench all` result under its name, with the suite's machine record.
    public static func recordSuite(_ suite: [String: Any], storePath: String) throws {
        let machine = suite["machine"] as? [String: Any] ?? [:]
        for (name, result) in suite["benchmarks"] as? [String: Any] ?? [:] {
            guard var object = result as? [String: Any] else { continue }
            object["machine"] = machine
            try record(object, name: name, storePath: storePath)
        }
    }

    /// One line per recorded result: when, which build, the headline figure with its spread.
    public static func lines(storePath: String, name: String?) throws -> [String] {
        let formatter = ISO8601DateFormatter()
        return try ExperimentStore(path: storePath).benchmarks(named: name).map { record in
            let result = (try? FlockJSON.object(from: Data(record.resultJSON.utf8))) as? [String: Any] ?? [:]
            let headline = ["ratio", "efficiency"].first { FlockJSON.number(result[$0]) != nil }.map { key in
                String(format: "%@ %.3f (%.3f–%.3f)", key, FlockJSON.number(result[key])!, FlockJSON.number(result["\(key)_min"]) ?? .nan,
                       FlockJSON.number(result["\(key)_max"]) ?? .nan)
            } ?? FlockJSON.number(result["samples_per_second"]).map { String(format: "%.0f samples/s", $0) } ?? ""
            return "\(formatter.string(from: record.recordedAt))  \(record.name.padding(toLength: 10, withPad: " ", startingAt: 0))  \(record.flockVersion)  \(headline)"
        }
    }

    static func json(_ object: [String: Any]) throws -> String {
        try FlockJSON.string(object)
    }
}
