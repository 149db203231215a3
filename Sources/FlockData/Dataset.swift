import FlockTensor

/// Samples held in memory: `features` (N, featureShape…) and `targets` (N) for class
/// indices or scalar regression targets, (N, k) for vector targets.
public struct Dataset: Sendable, Equatable {
    public var features: Tensor
    public var targets: Tensor

    public init(features: Tensor, targets: Tensor) {
        precondition(features.rank >= 1 && targets.rank >= 1 && features.shape[0] == targets.shape[0],
                     "features \(features.shape) and targets \(targets.shape) differ in sample count")
        self.features = features
        self.targets = targets
    }

    public var count: Int { features.shape[0] }
    /// Shape of one sample.
    public var featureShape: [Int] { Array(features.shape.dropFirst()) }

    /// Number of classes when targets are class indices: max + 1. The caller checks the
    /// labels first (`TrainingData` does, naming the file and line).
    public var inferredClassCount: Int {
        let largest = targets.max()
        precondition(largest.isFinite && largest >= 0 && largest < 16_777_216, "targets are not class indices (max \(largest))")
        return Int(largest) + 1
    }

    public func subset(_ indices: [Int]) -> Dataset {
        Dataset(features: features.gatherRows(indices), targets: targets.gatherRows(indices))
    }

    /// A seeded shuffle, then the last `validationFraction` of samples held out
    /// (Keras' `validation_split` takes the tail; the shuffle first keeps classes mixed).
    public func split(validationFraction: Double, seed: UInt64) -> (training: Dataset, validation: Dataset) {
        let (training, validation) = Self.splitIndices(count: count, validationFraction: validationFraction, seed: seed)
        return (subset(training), subset(validation))
    }

    /// The sample indices of `split(validationFraction:seed:)`'s two parts, in their order.
    public static func splitIndices(count: Int, validationFraction: Double, seed: UInt64) -> (training: [Int], validation: [Int]) {
        precondition(validationFraction >= 0 && validationFraction < 1, "validation fraction must be in [0, 1)")
        var generator = RandomGenerator(seed: seed, stream: 0x5911)
        let order = generator.permutation(count)
        let validationCount = Int((Double(count) * validationFraction).rounded())
        let trainingCount = count - validationCount
        return (Array(order[..<trainingCount]), Array(order[trainingCount...]))
    }
}
