import FlockReport
import FlockTrain
import Foundation

/// `callbacks.tensorboard`: the per-epoch scalars (metrics, `lr`, `seconds`,
/// `samples_per_second`) as TensorBoard event files in the run directory. It lives here,
/// where FlockTrain and FlockReport meet, so that the trainer imports no writer. A write
/// that fails does not stop training; the run fails with it once training is over.
public final class TensorBoardObserver: TrainingObserver {
    let writer: TensorBoardWriter
    public private(set) var deferredFailure: (any Error)?

    public init(directory: URL) throws { writer = try TensorBoardWriter(directory: directory) }

    public var configField: String? { "callbacks.tensorboard" }

    public func epochEnded(_ record: EpochRecord) throws {
        let extra = ["lr": Double(record.learningRate), "seconds": record.seconds, "samples_per_second": record.samplesPerSecond]
        do {
            try writer.write(step: record.epoch, scalars: TensorBoardWriter.scalars(ofEpoch: record.metrics.merging(extra) { $1 }))
        } catch { deferredFailure = deferredFailure ?? error }
    }
}
