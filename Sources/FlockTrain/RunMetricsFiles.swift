/// Appends each epoch to the run directory's `metrics.jsonl` (and `metrics.csv` with
/// `callbacks.csv_logger`). A write that fails does not stop training: the run fails with
/// it once training is over.
final class RunMetricsFiles: TrainingObserver {
    let directory: RunDirectory
    let csv: Bool
    private(set) var deferredFailure: (any Error)?

    init(directory: RunDirectory, csv: Bool) {
        self.directory = directory
        self.csv = csv
    }

    func epochEnded(_ record: EpochRecord) throws {
        do { try directory.appendMetrics(record, csv: csv) } catch { deferredFailure = deferredFailure ?? error }
    }
}
