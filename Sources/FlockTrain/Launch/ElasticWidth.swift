/// How many ranks a relaunched job gets: the most the live slots hold, up to the width
/// asked for, that keeps the job's shape — whole model-parallel groups (pipeline ×
/// tensor), and data-parallel replicas that split the global batch evenly, so the global
/// batch, the learning-rate schedule and the sample order stay what they were. A slot
/// that would break the split stays idle (32 samples over 3 replicas cannot split: 2 run).
public enum ElasticWidth {
    /// nil when no width from `minimum` up fits.
    public static func choose(slots: Int, requested: Int, minimum: Int, batchSize: Int, modelParallel: Int) -> Int? {
        let top = min(slots, requested)
        guard top >= minimum else { return nil }
        return stride(from: top, through: max(minimum, 1), by: -1).first { width in
            width % modelParallel == 0 && batchSize % (width / modelParallel) == 0
        }
    }
}
