import FlockTrain

/// A study's stored sweep file (`StudyRecord.definition`) as a report reads it: the
/// objective and the search space, decoded by the sweep file's own types from the text
/// alone. Unlike `SweepConfig.parse`, the base config is not loaded (`base:` names a file
/// that may be gone by now) and the parameters are not probed against it.
///
/// ```swift
/// let definition = try SweepDefinition(yaml: record.definition)
/// definition.metric    // "val_accuracy"
/// definition.maximize  // true
/// ```
public struct SweepDefinition: Sendable {
    public let metric: String
    public let maximize: Bool
    public let space: SearchSpace

    /// Throws a `ConfigError` by field path when the text is not a sweep file this
    /// version reads.
    public init(yaml: String, fileName: String = "sweep definition") throws {
        let file = try ConfigLoader.decode(SweepFile.self, yaml: yaml, fileName: fileName)
        metric = file.objective.metric
        maximize = file.objective.direction == .maximize
        space = SearchSpace(file.space)
    }
}
