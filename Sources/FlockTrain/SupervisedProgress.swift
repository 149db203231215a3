import Foundation

/// Rank 0 of a supervised job tells its supervisor each optimizer step it finishes
/// (`SupervisorChannel.progressFile`): one small overwrite per step, no sync, so it costs
/// a system call, not a disk flush.
final class SupervisedProgress: TrainingObserver {
    private let handle: FileHandle
    private weak var trainer: Trainer?

    /// nil when the channel's progress file cannot be opened (the supervisor then sees no
    /// progress and counts every step since the checkpoint as lost).
    init?(channel: SupervisorChannel) {
        let path = channel.progressFile.path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else { return nil }
        self.handle = handle
    }

    deinit { try? handle.close() }

    func trainingBegan(_ trainer: Trainer) {
        self.trainer = trainer
        write(trainer.optimizer.stepCount)
    }

    func batchEnded(_ progress: BatchProgress) {
        if let trainer { write(trainer.optimizer.stepCount) }
    }

    /// Fixed width, so a shorter number never leaves digits of a longer one behind.
    private func write(_ step: Int) {
        let text = String(repeating: " ", count: max(0, 19 - String(step).count)) + "\(step)\n"
        try? handle.seek(toOffset: 0)
        try? handle.write(contentsOf: Data(text.utf8))
    }
}
