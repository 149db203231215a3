import FlockStore
import Foundation

/// `flock bench compare A.json B.json`: every figure of two `flock bench all` results side
/// by side with its change. A figure measured with a spread (`x`, `x_min`, `x_max`) is
/// flagged when the two ranges do not overlap — a change larger than the spread of both.
public struct BenchmarkComparison {
    public struct Row: Sendable, Equatable {
        public let name: String
        public let before: Double
        public let after: Double
        /// Whether both have ranges and the ranges do not overlap.
        public let significant: Bool

        public var change: Double { before == 0 ? 0 : (after - before) / abs(before) }
    }

    public let rows: [Row]
    /// Machine fields that differ ("cpu: A → B"): results from different machines.
    public let machineDifferences: [String]

    public init(_ before: [String: Any], _ after: [String: Any]) {
        let a = Self.figures(before), b = Self.figures(after)
        rows = a.keys.filter { b[$0] != nil && !$0.hasSuffix("_min") && !$0.hasSuffix("_max")
            && !$0.hasSuffix("_q1") && !$0.hasSuffix("_q3") }.sorted().map { name in
            let overlapping: Bool
            if let aLow = a[name + "_min"], let aHigh = a[name + "_max"], let bLow = b[name + "_min"], let bHigh = b[name + "_max"] {
                overlapping = aLow <= bHigh && bLow <= aHigh
            } else {
                overlapping = true
            }
            return Row(name: name, before: a[name]!, after: b[name]!, significant: !overlapping)
        }
        let machineA = before["machine"] as? [String: Any] ?? [:], machineB = after["machine"] as? [String: Any] ?? [:]
        machineDifferences = ["cpu", "cores", "blas_kernel", "mpi", "flock_version"].compactMap { key in
            let x = machineA[key].map { "\($0)" } ?? "?", y = machineB[key].map { "\($0)" } ?? "?"
            return x == y ? nil : "\(key): \(x) → \(y)"
        }
    }

    /// Numeric leaves as `benchmark.field` (lists and the machine record left out).
    static func figures(_ result: [String: Any]) -> [String: Double] {
        var figures: [String: Double] = [:]
        for (benchmark, value) in result["benchmarks"] as? [String: Any] ?? [:] {
            for (field, number) in value as? [String: Any] ?? [:] {
                if let number = FlockJSON.number(number) { figures["\(benchmark).\(field)"] = number }
            }
        }
        return figures
    }

    public var table: String {
        var lines = machineDifferences.isEmpty ? [] : ["different machines or builds: " + machineDifferences.joined(separator: "; ")]
        lines.append("figure".padding(toLength: 44, withPad: " ", startingAt: 0) + "      before        after   change")
        for row in rows {
            lines.append(row.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                + String(format: " %12.4g %12.4g %+7.1f%%", row.before, row.after, row.change * 100)
                + (row.significant ? "  * beyond both spreads" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
