import FlockStore
import Foundation

/// `flock bench compare A.json B.json`: every figure of two results side by side with its
/// change — two `flock bench all` results, two results of one benchmark (`flock bench …
/// --json` lines), or one of each. A figure measured with a spread (`x`, `x_min`, `x_max`)
/// is flagged when the two ranges do not overlap — a change larger than the spread of both.
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

    /// Two results as `flock bench compare` reads them, each with the file it came from:
    /// `flock bench all` results compare figure by figure; a single benchmark's result
    /// (`flock bench … --json`, named by its `benchmark` field) compares with another of
    /// the same benchmark, or with that benchmark's entry in a `flock bench all` result.
    /// Throws naming the file that is not a result, or the two benchmarks that differ.
    public init(files before: (path: String, result: [String: Any]), _ after: (path: String, result: [String: Any])) throws {
        for file in [before, after] where !Self.isSuite(file.result) && Self.topLevelFigures(file.result).isEmpty {
            throw InputError(description: "\(file.path): not a benchmark result (expected a `flock bench all` result or the JSON line of `flock bench … --json`)")
        }
        switch (Self.isSuite(before.result), Self.isSuite(after.result)) {
        case (true, true):
            self.init(before.result, after.result)
        case (false, false):
            let name = try Self.sameBenchmark(before, after)
            self.init(Self.suite(name, before.result), Self.suite(name, after.result))
        case (true, false):
            let name = try Self.entry(of: after, in: before)
            self.init(Self.suite(name, (before.result["benchmarks"] as! [String: Any])[name]!, machine: before.result["machine"]),
                      Self.suite(name, after.result))
        case (false, true):
            let name = try Self.entry(of: before, in: after)
            self.init(Self.suite(name, before.result),
                      Self.suite(name, (after.result["benchmarks"] as! [String: Any])[name]!, machine: after.result["machine"]))
        }
    }

    /// Why two files cannot be compared; names them.
    public struct InputError: Error, CustomStringConvertible {
        public let description: String
    }

    static func isSuite(_ result: [String: Any]) -> Bool { result["benchmarks"] is [String: Any] }

    /// One benchmark's result as a `flock bench all` result holding only it.
    static func suite(_ name: String, _ result: Any, machine: Any? = nil) -> [String: Any] {
        ["benchmarks": [name: result], "machine": machine ?? (result as? [String: Any])?["machine"] ?? [String: Any]()]
    }

    private static func topLevelFigures(_ result: [String: Any]) -> Set<String> {
        Set(result.keys.filter { FlockJSON.number(result[$0]) != nil })
    }

    /// The benchmark both single results are of: by name, or (results written before they
    /// carried one) by the same figures.
    private static func sameBenchmark(_ a: (path: String, result: [String: Any]), _ b: (path: String, result: [String: Any])) throws -> String {
        let nameA = a.result["benchmark"] as? String, nameB = b.result["benchmark"] as? String
        if let nameA, let nameB, nameA != nameB {
            throw InputError(description: "\(a.path) is a \(nameA) result and \(b.path) a \(nameB) result: compare two results of the same benchmark")
        }
        if nameA == nil || nameB == nil {
            let figuresA = topLevelFigures(a.result), figuresB = topLevelFigures(b.result)
            guard figuresA == figuresB else {
                throw InputError(description: "\(a.path) and \(b.path) do not have the same figures (only in the first: \(figuresA.subtracting(figuresB).sorted().joined(separator: ", ")); only in the second: \(figuresB.subtracting(figuresA).sorted().joined(separator: ", "))): not results of the same benchmark")
            }
        }
        return nameA ?? nameB ?? "result"
    }

    /// The name of `single`'s benchmark, which `suite` must hold.
    private static func entry(of single: (path: String, result: [String: Any]), in suite: (path: String, result: [String: Any])) throws -> String {
        let held = (suite.result["benchmarks"] as! [String: Any]).keys.sorted()
        guard let name = single.result["benchmark"] as? String else {
            throw InputError(description: "\(single.path): a result of one benchmark without its \"benchmark\" name (written by an older flock); compare it with another result of that benchmark, not with \(suite.path)")
        }
        guard held.contains(name) else {
            throw InputError(description: "\(suite.path) holds no \(name) result (it holds: \(held.joined(separator: ", "))), so \(single.path) has nothing to compare with")
        }
        return name
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
