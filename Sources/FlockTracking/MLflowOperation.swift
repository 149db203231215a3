/// A run the queue starts on the server: its experiment, name and tags; a resumed run
/// names the id it continues, a sweep's trial the queue's run it is a child of.
public struct MLflowRunStart: Codable, Sendable, Equatable {
    public var experiment: String
    public var name: String
    public var tags: [String: String]
    /// Continue this run (a resumed training run) instead of creating one.
    public var existingRunID: String?
    /// The parent run in the same queue: its id becomes the tag `mlflow.parentRunId`.
    public var parent: MLflowQueue.Run?

    public init(experiment: String, name: String, tags: [String: String] = [:], existingRunID: String? = nil,
                parent: MLflowQueue.Run? = nil) {
        self.experiment = experiment
        self.name = name
        self.tags = tags
        self.existingRunID = existingRunID
        self.parent = parent
    }
}

/// One thing to tell the server about one run, in the order it happened.
public enum MLflowOperation: Codable, Sendable, Equatable {
    case start(MLflowRunStart)
    case log(MLflowBatch)
    /// A local file, read when it is sent, stored as the artifact `artifactPath`.
    case upload(file: String, artifactPath: String)
    /// The logged model's `MLmodel` listing `files`, written when sent (it names the run's id).
    case uploadMLmodel(files: [String], artifactPath: String)
    /// `runs/update`: FINISHED, FAILED or KILLED, at `endTime` (ms since 1970).
    case end(status: String, endTime: Int64)
}
