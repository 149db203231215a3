import Yams

/// What differs between two resolved configs, as field paths: `model[0].units: 32 → 64`.
enum ConfigDifference {
    static func between(_ old: String, _ new: String, limit: Int = 5) -> [String] {
        let before = flatten((try? Yams.load(yaml: old)) ?? nil), after = flatten((try? Yams.load(yaml: new)) ?? nil)
        var lines: [String] = []
        for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
            lines.append("\(key): checkpoint \(before[key] ?? "(absent)"), this run \(after[key] ?? "(absent)")")
        }
        if lines.count > limit { lines = Array(lines.prefix(limit)) + ["and \(lines.count - limit) more"] }
        return lines.isEmpty ? ["the config text differs"] : lines
    }

    /// Leaf values by path (`a.b[2].c`).
    static func flatten(_ value: Any?, prefix: String = "") -> [String: String] {
        switch value {
        case let mapping as [String: Any]:
            var result: [String: String] = [:]
            for (key, child) in mapping {
                result.merge(flatten(child, prefix: prefix.isEmpty ? key : "\(prefix).\(key)")) { $1 }
            }
            return result
        case let list as [Any]:
            var result: [String: String] = [:]
            for (index, child) in list.enumerated() { result.merge(flatten(child, prefix: "\(prefix)[\(index)]")) { $1 } }
            return result
        case nil:
            return [:]
        default:
            return [prefix: "\(value!)"]
        }
    }
}
