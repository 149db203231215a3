import Flock
import Foundation

/// A per-epoch progress bar on rank 0 when standard output is a terminal: batches done,
/// loss so far, samples/s and time left in the epoch. Nothing when output is redirected
/// (then the plain per-epoch lines are the log), nor under mpirun, which gives its ranks a
/// pseudo-terminal even when the job's output goes to a file.
final class ProgressBar: TrainingObserver {
    private var lastDraw = 0.0

    static func forStandardOutput() -> ProgressBar? {
        isatty(STDOUT_FILENO) != 0 && !MPIEnvironment.launchedByMPIRun() ? ProgressBar() : nil
    }

    func batchEnded(_ progress: BatchProgress) {
        // Redraw at most ten times a second.
        guard progress.seconds - lastDraw >= 0.1 || progress.batchesDone == progress.batches else { return }
        lastDraw = progress.seconds
        let width = 30
        let filled = width * progress.batchesDone / max(progress.batches, 1)
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let rate = Double(progress.batchesDone) / max(progress.seconds, 1e-9)
        let left = Double(progress.batches - progress.batchesDone) / max(rate, 1e-9)
        let line = String(format: "\repoch %d [%@] %d/%d  loss %.4f  %.0f samples/s  eta %.1fs ", progress.epoch, bar,
                          progress.batchesDone, progress.batches, progress.loss, progress.samplesPerSecond, left)
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    func epochEnded(_ record: EpochRecord) {
        FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8))
        lastDraw = 0
    }
}
