import Foundation
import GRDB

/// One training run. Its id is the run directory's absolute path, so a resume finds it.
public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public enum Status: String, Codable, Sendable {
        case running, completed, stoppedEarly = "stopped_early", pruned, failed
        /// Never stored: how a `running` run whose process is gone reads (`liveStatus`).
        case interrupted
    }

    public static let databaseTableName = "run"

    public var id: String
    public var name: String
    public var status: Status
    /// The resolved config, as YAML.
    public var config: String
    public var configHash: String
    public var worldSize: Int
    public var host: String
    public var directory: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var epochsRun: Int
    /// Best value per metric, as JSON.
    public var best: String
    public var error: String?
    /// The process that runs it (rank 0's), while running; nil in stores from before.
    public var pid: Int?
    /// When the running process last said it was alive (every `RunRecord.heartbeatInterval`).
    public var heartbeat: Date?

    public init(id: String, name: String, config: String, configHash: String, worldSize: Int, host: String,
                directory: String, startedAt: Date = Date(), pid: Int? = nil) {
        self.id = id
        self.name = name
        status = .running
        self.config = config
        self.configHash = configHash
        self.worldSize = worldSize
        self.host = host
        self.directory = directory
        self.startedAt = startedAt
        epochsRun = 0
        best = "{}"
        self.pid = pid
        heartbeat = pid == nil ? nil : startedAt
    }

    /// `best` decoded.
    public var bestMetrics: [String: Double] {
        (try? FlockJSON.decoder.decode([String: Double].self, from: Data(best.utf8))) ?? [:]
    }

    static func encode(_ metrics: [String: Double]) throws -> String {
        String(decoding: try FlockJSON.encoder().encode(metrics.filter { $0.value.isFinite }), as: UTF8.self)
    }
}

/// One metric of one epoch of a run.
public struct MetricRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "metric"
    public var runID: String
    public var epoch: Int
    public var name: String
    public var value: Double
}

/// A checkpoint a run wrote.
public struct CheckpointRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "checkpoint"
    public var runID: String
    public var name: String
    public var epoch: Int
    public var step: Int
    public var path: String
    public var createdAt: Date

    public init(runID: String, name: String, epoch: Int, step: Int, path: String, createdAt: Date = Date()) {
        self.runID = runID
        self.name = name
        self.epoch = epoch
        self.step = step
        self.path = path
        self.createdAt = createdAt
    }
}
