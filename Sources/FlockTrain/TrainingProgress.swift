import FlockTensor

/// Where training stands: epochs completed and global batches done in the next one.
struct TrainingPosition {
    var epoch = 0
    var batchInEpoch = 0
}

/// A trainer's running state besides weights and optimizer buffers: what a checkpoint
/// must hold for an exact resume.
struct TrainingProgress {
    var position = TrainingPosition()
    /// Factor on the scheduled learning rate (ReduceLROnPlateau, NaN rollbacks).
    var learningRateScale = 1.0
    var tracker = BestValueTracker()
    var samplesSeen = 0
    var trainingSeconds = 0.0
    var lastMetrics: [String: Double] = [:]
    /// Draws this rank's dropout masks.
    var dropoutGenerator: RandomGenerator
    /// The best weights and buffers so far (rank 0, when a callback restores them).
    var bestWeights: [Float]?
    /// This rank's metric sums of the epoch a mid-epoch checkpoint was resumed in.
    var resumedEpochSums: [Double]?
    /// Whether a callback ended training; saved with the last epoch's checkpoint, so a job
    /// killed after it (before its final files) ends again when resumed instead of training on.
    var stoppedEarly = false

    mutating func finishEpoch(_ epoch: Int, metrics: [String: Double], seconds: Double, samples: Int) {
        trainingSeconds += seconds
        samplesSeen += samples
        tracker.observe(metrics)
        lastMetrics = metrics
        position = TrainingPosition(epoch: epoch + 1, batchInEpoch: 0)
    }
}
