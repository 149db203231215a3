import FlockTestSupport
import Foundation

/// Configs and sweep files on the digits data, small enough to train in seconds.
enum ToolchainFixtures {
    /// A training config: a 16-unit MLP on digits, then `extra` lines (epochs, callbacks).
    static func config(name: String, _ extra: String) -> String {
        """
        name: \(name)
        seed: 3
        data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
        model:
          - {type: dense, units: 16, activation: relu}
          - {type: dense, units: 10}
        optimizer: {name: momentum, lr: 0.05}
        \(extra)
        """
    }

    /// A sweep file with the config inline as `base_config`, then `extra` lines.
    static func sweep(study: String, base: String, _ extra: String) -> String {
        let indented = base.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n")
        return "study: \(study)\nbase_config:\n\(indented)\n\(extra)\n"
    }

    /// `metrics.jsonl` as one dictionary per line.
    static func metricsLines(_ run: URL) throws -> [[String: Double]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }

    /// `flock trials STORE --json`'s trials.
    static func flockTrials(store: String) throws -> [[String: Any]] {
        let listed = try ChildProcess.flock(["trials", store, "--json"], timeout: 120)
        guard listed.status == 0 else { throw TestFailure("flock trials failed:\n\(listed.output)") }
        let object = try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as! [String: Any]
        return object["trials"] as! [[String: Any]]
    }
}
