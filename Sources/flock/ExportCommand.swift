import ArgumentParser
import Flock
import Foundation

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a trained model, with its saved preprocessing, as an ONNX graph.")

    @Argument(help: "A checkpoint folder, or a run directory (the checkpoint flock predict picks: its best when it kept one, else its last).")
    var checkpoint: String

    @Option(help: "The ONNX file to write (opset 17): input `features` (N, F) of raw feature columns, first output class probabilities (N, C) or regression values in the data's units.")
    var onnx: String

    func run() throws {
        do {
            let predictor = try Predictor(path: checkpoint)
            let summary = try predictor.exportONNX(to: URL(fileURLWithPath: onnx))
            print("\(onnx): \(summary.nodes) nodes, \(summary.initializerValues) weights, input \(summary.input) (N, \(summary.features)) → \(summary.output) (N, \(summary.outputs)), from \(predictor.choice)")
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
