import Yams

/// What differs between two resolved configs, as field paths: `model[0].units: 32 → 64`.
enum ConfigDifference {
    /// Fields that say how a job is laid out over its ranks, not what it trains: a
    /// checkpoint resumes under other values of them.
    static let layoutFields = ["parallel.pipeline", "parallel.tensor", "parallel.schedule", "parallel.micro_batches",
                               "parallel.partition", "parallel.zero", "parallel.recompute"]

    /// Fields that only extend a run or change how it is watched and kept (Keras'
    /// `initial_epoch`, Lightning's larger `max_epochs`): a checkpoint resumes under other
    /// values of them, with a note saying what changes.
    static let extendingFields = ["epochs", "callbacks.early_stopping.patience", "callbacks.model_checkpoint.every_n_steps",
                                  "callbacks.model_checkpoint.save_best", "callbacks.csv_logger", "callbacks.tensorboard",
                                  "callbacks.mlflow", "elastic"]

    /// The changes of `fields` from the checkpoint's config to this run's, as field paths
    /// (`epochs: checkpoint 3, this run 5`); none when the texts are not both YAML.
    static func changes(_ old: String, _ new: String, in fields: [String]) -> [(field: String, line: String)] {
        guard let parsedOld = try? SafeYAML.load(old), let parsedNew = try? SafeYAML.load(new) else { return [] }
        let before = flatten(parsedOld), after = flatten(parsedNew)
        return Set(before.keys).union(after.keys).sorted()
            .filter { key in before[key] != after[key] && fields.contains { key == $0 || key.hasPrefix($0 + ".") } }
            .map { key in (key, "\(key): checkpoint \(before[key] ?? "(absent)"), this run \(after[key] ?? "(absent)")") }
    }

    /// The fields that differ, except those under a prefix in `ignoring`. Texts that are
    /// not both YAML, or differ in no field at all, give one line saying so; texts that
    /// differ only in ignored fields give none.
    static func between(_ old: String, _ new: String, limit: Int = 5, ignoring: [String] = []) -> [String] {
        guard let parsedOld = try? SafeYAML.load(old), let parsedNew = try? SafeYAML.load(new) else {
            return ["the config text differs"]
        }
        let before = flatten(parsedOld), after = flatten(parsedNew)
        let differing = Set(before.keys).union(after.keys).sorted().filter { before[$0] != after[$0] }
        guard !differing.isEmpty else { return ["the config text differs"] }
        var lines = differing.filter { key in !ignoring.contains { key.hasPrefix($0) } }.map { key in
            "\(key): checkpoint \(before[key] ?? "(absent)"), this run \(after[key] ?? "(absent)")"
        }
        if lines.count > limit { lines = Array(lines.prefix(limit)) + ["and \(lines.count - limit) more"] }
        return lines
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
