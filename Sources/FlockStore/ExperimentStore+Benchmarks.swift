import Foundation
import GRDB

/// One `flock bench` result as the store keeps it: the machine record and the result, both
/// as the JSON the benchmark printed.
public struct BenchmarkRecord: Sendable, Equatable {
    public let id: Int64
    /// `train_mlp`, `ddp`, …
    public let name: String
    public let recordedAt: Date
    public let flockVersion: String
    public let machineJSON: String
    public let resultJSON: String
}

/// Benchmark history: `flock bench … --store PATH` records, `flock bench history` reads.
extension ExperimentStore {
    @discardableResult
    public func recordBenchmark(name: String, flockVersion: String, machineJSON: String, resultJSON: String,
                                at date: Date = Date()) throws -> Int64 {
        try immediate { db in
            try db.execute(sql: """
                INSERT INTO benchmark (name, recordedAt, flockVersion, machine, result) VALUES (?, ?, ?, ?, ?)
                """, arguments: [name, date, flockVersion, machineJSON, resultJSON])
            return db.lastInsertedRowID
        }
    }

    /// Recorded results, oldest first; only `name`'s when given.
    public func benchmarks(named name: String? = nil) throws -> [BenchmarkRecord] {
        try snapshot { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, name, recordedAt, flockVersion, machine, result FROM benchmark
                WHERE ? IS NULL OR name = ? ORDER BY recordedAt, id
                """, arguments: [name, name])
            return rows.map { row in
                BenchmarkRecord(id: row["id"], name: row["name"], recordedAt: row["recordedAt"], flockVersion: row["flockVersion"],
                                machineJSON: row["machine"], resultJSON: row["result"])
            }
        }
    }
}
