import FlockExport
import FlockReport
import FlockTracking
import FlockTrain
import Foundation

extension TrainingRun {
    /// Adds the observers the config asks for that live outside FlockTrain (TensorBoard's
    /// writer, MLflow's tracker) to the trainer, on the rank that writes the run directory.
    /// `flock train`, its folds and a sweep's in-process trials call it.
    public func attachConfiguredObservers() throws {
        guard let directory else { return }
        if config.callbacks.tensorBoard {
            trainer.observers.append(try TensorBoardObserver(directory: directory.url))
        }
        if let mlflow = config.callbacks.mlflow {
            trainer.observers.append(try MLflowObserver(config: config, settings: mlflow, directory: directory.url,
                                                        worldSize: trainer.worldSize, report: Self.writeReport,
                                                        onnxModel: Self.writeONNXModel))
        }
    }

    /// The run's model (the checkpoint `flock predict` picks) as `model.onnx` in its
    /// directory; nil, with a warning, when it cannot be exported.
    static func writeONNXModel(_ directory: URL) -> URL? {
        let file = directory.appendingPathComponent("model.onnx")
        do {
            _ = try Predictor(path: directory.path).exportONNX(to: file)
            return file
        } catch {
            FileHandle.standardError.write(Data("warning: MLflow gets no ONNX model: \(error)\n".utf8))
            return nil
        }
    }

    /// The run's HTML report as `report.html` in its directory; nil when it cannot be made.
    static func writeReport(_ directory: URL) -> URL? {
        let file = directory.appendingPathComponent("report.html")
        guard let report = try? Report.make(target: directory.path), (try? report.write(to: file.path)) != nil else { return nil }
        return file
    }
}
