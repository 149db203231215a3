import Foundation
import SwiftProtobuf

/// Writes TensorBoard event files of per-epoch scalars, so `tensorboard --logdir runs/`
/// shows Flock runs beside PyTorch's `SummaryWriter` runs.
///
/// One file per writer, `events.out.tfevents.<seconds>.<host>.<pid>.flock` in `directory`
/// (a resumed run starts another; TensorBoard reads them all). Each event is a TFRecord
/// of a serialized `tensorboard.Event`; the file starts with the `brain.Event:2` version
/// event. Every record is written and flushed as it comes, so TensorBoard follows a run live.
///
/// ```swift
/// let writer = try TensorBoardWriter(directory: runURL)
/// try writer.write(step: 1, scalars: ["loss/train": 0.7, "loss/validation": 0.8])
/// ```
public final class TensorBoardWriter {
    public let file: URL
    private let handle: FileHandle

    public init(directory: URL, wallTime: Date = Date()) throws {
        let seconds = Int(wallTime.timeIntervalSince1970)
        let host = ProcessInfo.processInfo.hostName
        file = directory.appendingPathComponent(
            "events.out.tfevents.\(seconds).\(host).\(ProcessInfo.processInfo.processIdentifier).flock")
        guard FileManager.default.createFile(atPath: file.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: file) else {
            throw ReportError("\(file.path): cannot create the TensorBoard event file")
        }
        self.handle = handle
        try append(TensorBoardEvent(wallTime: wallTime.timeIntervalSince1970, fileVersion: "brain.Event:2"))
    }

    deinit { try? handle.close() }

    /// One event at `step` holding every scalar (tag → value); non-finite values are left out.
    public func write(step: Int, scalars: [String: Double], wallTime: Date = Date()) throws {
        let values = scalars.filter { $0.value.isFinite }.sorted { $0.key < $1.key }
            .map { TensorBoardSummaryValue(tag: $0.key, simpleValue: Float($0.value)) }
        guard !values.isEmpty else { return }
        try append(TensorBoardEvent(wallTime: wallTime.timeIntervalSince1970, step: Int64(step),
                                    summary: TensorBoardSummary(values: values)))
    }

    /// The TensorBoard tags of one line of `metrics.jsonl`: `loss/train` and
    /// `loss/validation` for `loss` and `val_loss` (one chart with both curves), each metric
    /// the same way, and `learning_rate`, `samples_per_second`, `seconds_per_epoch`.
    public static func scalars(ofEpoch metrics: [String: Double]) -> [String: Double] {
        var scalars: [String: Double] = [:]
        for (name, value) in metrics {
            switch name {
            case "epoch": continue
            case "lr": scalars["learning_rate"] = value
            case "samples_per_second": scalars["samples_per_second"] = value
            case "seconds": scalars["seconds_per_epoch"] = value
            default:
                if name.hasPrefix("val_") { scalars["\(name.dropFirst(4))/validation"] = value }
                else { scalars["\(name)/train"] = value }
            }
        }
        return scalars
    }

    private func append(_ event: TensorBoardEvent) throws {
        let bytes: [UInt8] = try event.serializedBytes()
        do {
            try handle.write(contentsOf: TFRecordFraming.frame(bytes))
            try handle.synchronize()
        } catch {
            throw ReportError("\(file.path): cannot write a TensorBoard event: \(error.localizedDescription)")
        }
    }
}
