import Foundation
import Yams

/// A config's YAML as flat key paths (`optimizer.lr`, `model[0].units`) with their values
/// as text: for tables of the settings that differ between runs.
enum ConfigTree {
    static func flatten(yaml: String) -> [String: String] {
        guard let root = try? Yams.load(yaml: yaml) else { return [:] }
        var result: [String: String] = [:]
        flatten(root, path: "", into: &result)
        return result
    }

    /// One value by key path (`callbacks.early_stopping.monitor`); nil when absent.
    static func value(_ path: String, in yaml: String?) -> String? {
        guard let yaml else { return nil }
        return flatten(yaml: yaml)[path]
    }

    private static func flatten(_ node: Any?, path: String, into result: inout [String: String]) {
        switch node {
        case let dictionary as [String: Any]:
            if dictionary.isEmpty { result[path] = "{}" }
            for (key, value) in dictionary { flatten(value, path: path.isEmpty ? key : "\(path).\(key)", into: &result) }
        case let dictionary as [AnyHashable: Any]:
            for (key, value) in dictionary { flatten(value, path: path.isEmpty ? "\(key)" : "\(path).\(key)", into: &result) }
        case let array as [Any]:
            if array.isEmpty { result[path] = "[]" }
            for (index, value) in array.enumerated() { flatten(value, path: "\(path)[\(index)]", into: &result) }
        case nil, is NSNull:
            result[path] = "null"
        case let value?:
            result[path] = "\(value)"
        }
    }
}
