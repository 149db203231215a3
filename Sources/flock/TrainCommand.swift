import ArgumentParser
import Flock
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model from a YAML config.")

    @Argument(help: "The training config (YAML).")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config value: key.path=value (repeatable), e.g. optimizer.lr=0.01.")
    var overrides: [String] = []

    @Option(name: .customLong("run-dir"), help: "Output folder (default runs/<name>-<time>).")
    var runDirectory: String?

    func run() throws {
        do {
            let resolved = try ConfigLoader.load(path: config, overrides: overrides)
            let training = try TrainingRun(config: resolved, runDirectory: runDirectory)
            print("run directory: \(training.directory.url.path)")
            let summary = try training.run { record in print(ProgressLine.epoch(record, of: resolved.epochs)) }
            print(ProgressLine.summary(summary))
        } catch let error as ConfigError {
            throw CommandFailure("\(config): \(error)")
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

/// A user-facing failure: printed as `error: …` on stderr, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum ProgressLine {
    static func epoch(_ record: EpochRecord, of total: Int) -> String {
        let ordered = record.metrics.keys.sorted { order($0) < order($1) }
        let values = ordered.map { "\($0) \(format(record.metrics[$0]!))" }.joined(separator: "  ")
        return "epoch \(record.epoch)/\(total)  \(values)  lr \(format(Double(record.learningRate)))  \(Int(record.samplesPerSecond)) samples/s"
    }

    static func summary(_ summary: TrainingSummary) -> String {
        let best = summary.best.keys.filter { $0.hasPrefix("val_") }.sorted().map { "\($0) \(format(summary.best[$0]!))" }
        return "done: \(summary.epochsRun) epochs, best \(best.joined(separator: ", ")), \(Int(summary.samplesPerSecond)) samples/s"
    }

    private static func order(_ name: String) -> String {
        (name.hasPrefix("val_") ? "1" : "0") + (name.hasSuffix("loss") ? "0" : "1") + name
    }

    private static func format(_ value: Double) -> String {
        String(format: abs(value) < 1e-3 && value != 0 ? "%.3e" : "%.4f", value)
    }
}
