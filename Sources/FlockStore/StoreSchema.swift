import GRDB

extension ExperimentStore {
    /// The tables, one migration per step of the schema's history (never edit a shipped one).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("runs, metrics, checkpoints") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("config", .text).notNull()
                t.column("configHash", .text).notNull()
                t.column("worldSize", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("directory", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.column("epochsRun", .integer).notNull().defaults(to: 0)
                t.column("best", .text).notNull().defaults(to: "{}")
                t.column("error", .text)
            }
            try db.create(table: "metric") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["runID", "epoch", "name"])
            }
            try db.create(table: "checkpoint") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("epoch", .integer).notNull()
                t.column("step", .integer).notNull()
                t.column("path", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["runID", "name"])
            }
        }
        migrator.registerMigration("studies, trials") { db in
            try db.create(table: "study") { t in
                t.primaryKey("name", .text)
                t.column("definition", .text).notNull()
                t.column("base", .text).notNull()
                t.column("direction", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "trial") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("study", .text).notNull().references("study", onDelete: .cascade)
                t.column("number", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("params", .text).notNull()
                t.column("value", .double)
                t.column("retries", .integer).notNull().defaults(to: 0)
                t.column("worker", .text)
                t.column("heartbeat", .datetime)
                t.column("startedAt", .datetime)
                t.column("finishedAt", .datetime)
                t.column("error", .text)
                t.column("runDirectory", .text)
                t.uniqueKey(["study", "number"])
            }
            try db.create(index: "trialByState", on: "trial", columns: ["study", "state"])
            try db.create(table: "intermediateValue") { t in
                t.column("trialID", .integer).notNull().references("trial", onDelete: .cascade)
                t.column("step", .integer).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["trialID", "step"])
            }
        }
        migrator.registerMigration("benchmarks") { db in
            try db.create(table: "benchmark") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("recordedAt", .datetime).notNull()
                t.column("flockVersion", .text).notNull()
                t.column("machine", .text).notNull()
                t.column("result", .text).notNull()
            }
            try db.create(index: "benchmarkByName", on: "benchmark", columns: ["name", "recordedAt"])
        }
        migrator.registerMigration("run heartbeat") { db in
            // Like trials: a running run's process and its last sign of life, so a run
            // that was killed is told apart from one still going.
            try db.alter(table: "run") { t in
                t.add(column: "pid", .integer)
                t.add(column: "heartbeat", .datetime)
            }
        }
        migrator.registerMigration("trial launcher job") { db in
            // A trial run as a batch job (launcher: slurm) outlives its driver: the job of
            // the attempt still out, so a restarted driver takes it over instead of
            // submitting it again, and the job's last known queue state.
            try db.alter(table: "trial") { t in
                t.add(column: "job", .text)
                t.add(column: "jobState", .text)
            }
        }
        migrator.registerMigration("run restarts") { db in
            // A supervised job relaunched after a lost rank: why, how wide before and
            // after, what it cost.
            try db.create(table: "restart") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("number", .integer).notNull()
                t.column("cause", .text).notNull()
                t.column("ranksBefore", .integer).notNull()
                t.column("ranksAfter", .integer).notNull()
                t.column("stepsLost", .integer).notNull()
                t.column("seconds", .double).notNull()
                t.column("recordedAt", .datetime).notNull()
                t.primaryKey(["runID", "number"])
            }
        }
        migrator.registerMigration("restart source") { db in
            // Whether a relaunch resumed from a snapshot in the keepers' memory or from disk.
            try db.alter(table: "restart") { t in t.add(column: "source", .text) }
        }
        return migrator
    }
}
