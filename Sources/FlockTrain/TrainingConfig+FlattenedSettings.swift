import FlockNN
import Foundation
import Yams

/// A decoded config as flat `path: value` text, the defaults it was decoded with written
/// out: what a report lists for a run and compares between runs. The paths are the ones
/// `set(_:to:)` and a sweep's `space:` take.
///
/// ```swift
/// let config = try ConfigLoader.decode(TrainingConfig.self, yaml: text, fileName: "config.yaml")
/// config.flattenedSettings["optimizer.lr"]    // "0.001"
/// config.flattenedSettings["model[0].units"]  // "128"
/// ```
extension TrainingConfig {
    /// Each settable field that is set (`settableFields`, read back through the same
    /// table), the sections the table does not list field by field, from their encoding
    /// (each layer's fields, `model[1].block[0].units`; the loss's, class weights and
    /// teacher included; the optimizer's and schedule's; the parallel layout), and the fields a sweep may not set that
    /// still tell two runs apart (`unsettableSettings`). A path in both takes the table's text.
    public var flattenedSettings: [String: String] {
        let modelSettings = graph.map { Self.encodedSettings(of: $0, at: CodingKeys.model.stringValue) }
            ?? Self.encodedSettings(of: model, at: CodingKeys.model.stringValue)
        let encoded = [modelSettings,
                       Self.encodedSettings(of: loss, at: CodingKeys.loss.stringValue),
                       Self.encodedSettings(of: optimizer, at: CodingKeys.optimizer.stringValue),
                       Self.encodedSettings(of: schedule, at: CodingKeys.schedule.stringValue),
                       Self.encodedSettings(of: parallel, at: CodingKeys.parallel.stringValue)]
        var result = encoded.reduce(into: [:]) { $0.merge($1) { $1 } }
        result.merge(Self.settableFields.compactMapValues { $0.get(self)?.description }) { $1 }
        result.merge(unsettableSettings) { $1 }
        return result
    }

    /// Fields `set(_:to:)` leaves out (the data's files and split, the metrics, which
    /// callbacks are on and what they monitor, the starting weights); nil ones left out.
    private var unsettableSettings: [String: String] {
        typealias Data = DataConfig.CodingKeys
        let nan = [CodingKeys.callbacks, CallbacksConfig.CodingKeys.terminateOnNaN, TerminateOnNaN.CodingKeys.action] as [any CodingKey]
        let fields: [([any CodingKey], String?)] = [
            ([CodingKeys.data, Data.source], data.source),
            ([CodingKeys.data, Data.labels], data.labels),
            ([CodingKeys.data, Data.validationSplit], "\(data.validationSplit)"),
            ([CodingKeys.metrics], resolvedMetrics.map(\.rawValue).joined(separator: ", ")),
            (nan, callbacks.terminateOnNaN?.action.rawValue),
            ([CodingKeys.initFrom, InitFromConfig.CodingKeys.checkpoint], initFrom?.checkpoint),
        ]
        let monitors = Self.monitored(.earlyStopping, callbacks.earlyStopping.map { ($0.monitor, $0.mode) })
            + Self.monitored(.reduceLROnPlateau, callbacks.reduceLROnPlateau.map { ($0.monitor, $0.mode) })
            + Self.monitored(.modelCheckpoint, callbacks.modelCheckpoint.map { ($0.monitor, $0.mode) })
        return Dictionary(uniqueKeysWithValues: (fields + monitors).compactMap { keys, value in value.map { (ConfigError.render(keys), $0) } })
    }

    /// A monitoring callback's `monitor` and `mode` (each of them names the two so); nil
    /// values when the callback is off.
    private static func monitored(_ callback: CallbacksConfig.CodingKeys, _ setting: (monitor: String, mode: MonitorMode)?)
        -> [([any CodingKey], String?)] {
        let section = [CodingKeys.callbacks, callback] as [any CodingKey]
        return [(section + [AnyCodingKey(stringValue: "monitor")], setting?.monitor),
                (section + [AnyCodingKey(stringValue: "mode")], setting?.mode.rawValue)]
    }

    /// A section whose fields are not listed one by one (layers are registered kinds, each
    /// encoding all its fields), flattened from its encoding. JSON's text keeps each
    /// double as Swift prints it (`0.2`, not Yams' `2e-1`); a config read without
    /// validation may hold a non-finite one, written `nan` or `inf`.
    private static func encodedSettings(of section: some Encodable, at path: String) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let json = try? encoder.encode(section), let node = try? Yams.compose(yaml: String(decoding: json, as: UTF8.self)) else {
            return [path: "(cannot be listed)"]
        }
        var result: [String: String] = [:]
        flatten(node, path: path, into: &result)
        return result
    }

    private static func flatten(_ node: Node, path: String, into result: inout [String: String]) {
        switch node {
        case let .mapping(mapping):
            for (key, value) in mapping { flatten(value, path: "\(path).\(key.string ?? "\(key)")", into: &result) }
        case let .sequence(items):
            for (index, item) in items.enumerated() { flatten(item, path: "\(path)[\(index)]", into: &result) }
        case let .scalar(scalar):
            if scalar.string != "null" { result[path] = scalar.string }
        case .alias:
            break
        }
    }
}
