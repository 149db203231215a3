import ArgumentParser
import Flock
import Foundation

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Metrics of a checkpoint on the config's validation split (and a confusion matrix for classifiers).")

    @Argument(help: "The training config (YAML) the checkpoint was trained with.")
    var config: String

    @Option(help: "A checkpoint folder, or a run directory (its best checkpoint when it kept one, else its last).")
    var checkpoint: String

    @Option(name: .customLong("set"), help: "Override a config value: key.path=value (repeatable).")
    var overrides: [String] = []

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        do {
            var resolved = try ConfigLoader.load(path: config, overrides: overrides)
            // One process evaluates the whole model, whatever layout trained it.
            resolved.parallel.pipeline = 1
            resolved.parallel.tensor = 1
            let (folder, choice) = try CheckpointLocation.resolve(checkpoint)
            let loaded = try Checkpoint.load(folder)
            // The checkpoint's preprocessing, never statistics re-fitted on the file.
            let trainer = try Trainer(config: resolved, preprocessing: loaded.preprocessing)
            try trainer.loadWeights(from: loaded)
            if !json { print("using \(choice)") }
            let (metrics, confusion) = try trainer.evaluateValidation()
            if json {
                var object: [String: Any] = ["checkpoint": loaded.url.path, "epoch": loaded.state.epoch, "metrics": metrics]
                if let confusion { object["confusion_matrix"] = confusion.counts }
                try JSONOutput.print(object)
                return
            }
            print("checkpoint \(loaded.url.path) (epoch \(loaded.state.epoch), step \(loaded.state.step)), \(trainer.data.validation.count) validation samples")
            for (name, value) in metrics.sorted(by: { $0.key < $1.key }) { print("\(name) \(String(format: "%.4f", value))") }
            if let confusion {
                print("confusion matrix (rows: actual, columns: predicted)")
                let width = max(4, String(confusion.counts.joined().max() ?? 0).count + 1)
                print("     " + (0..<confusion.classCount).map { String($0).leftPadded(width) }.joined())
                for (actual, row) in confusion.counts.enumerated() {
                    print(String(actual).leftPadded(4) + " " + row.map { String($0).leftPadded(width) }.joined())
                }
            }
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
