import Foundation
import GRDB

/// Runs a study: `workers` threads each claim a trial, run it, record the result, and go
/// again until the budget is spent. Everything it knows lives in the store, so a driver
/// killed at any moment and started again continues the same study: completed trials are
/// kept, the next suggestion derives from the stored trials, and trials whose heartbeat
/// went stale are retried (from their last checkpoint) up to `max_retries` times.
///
/// Claims and new trials are made inside `BEGIN IMMEDIATE` transactions with conditional
/// updates, so several drivers (or workers) on one store never run a trial twice.
public final class SweepDriver: Sendable {
    public let sweep: SweepConfig
    public let store: ExperimentStore
    /// Where trial run directories go (`trials/NNNN/`).
    public let directory: URL
    public let runner: any TrialRunner
    private let driverID: String

    public init(sweep: SweepConfig, store: ExperimentStore, directory: URL, runner: any TrialRunner) {
        self.sweep = sweep
        self.store = store
        self.directory = directory
        self.runner = runner
        driverID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    }

    /// Registers the study (or checks that an existing one has the same definition).
    public func prepare() throws {
        let sweep = sweep
        let base = try ConfigLoader.yaml(of: sweep.base)
        try store.immediate { db in
            if let existing = try StudyRecord.fetchOne(db, key: sweep.study) {
                guard existing.definition == sweep.definition else {
                    throw SweepError(description: "study '\(sweep.study)' already exists in this store with a different sweep definition; use another study name or store")
                }
            } else {
                try StudyRecord(name: sweep.study, definition: sweep.definition, base: base,
                                direction: sweep.maximize ? "maximize" : "minimize").insert(db)
            }
        }
    }

    /// Runs until the budget is spent; returns the study's trials.
    public func run(workers: Int? = nil, onTrialFinished: @escaping @Sendable (TrialRecord) -> Void = { _ in }) throws -> [TrialRecord] {
        try prepare()
        let count = workers ?? sweep.workers
        let heartbeat = Heartbeat(store: store, driverID: driverID)
        heartbeat.start()
        defer { heartbeat.stop() }
        let errors = ErrorBox()
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread { [self] in
                do { try workLoop(worker: "\(driverID)#\(index)", onTrialFinished: onTrialFinished) } catch { errors.set(error) }
                group.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        if let error = errors.error { throw error }
        return try trials()
    }

    public func trials() throws -> [TrialRecord] {
        let study = sweep.study
        return try store.snapshot { db in
            try TrialRecord.filter(Column("study") == study).order(Column("number")).fetchAll(db)
        }
    }

    // MARK: One worker

    private func workLoop(worker: String, onTrialFinished: @Sendable (TrialRecord) -> Void) throws {
        while true {
            switch try claim(worker: worker) {
            case .done:
                return
            case .wait:
                // Others still run trials that may be retried if they die: look again soon.
                usleep(200_000)
            case let .trial(record, resume):
                let finished = try execute(record, resume: resume, worker: worker)
                onTrialFinished(finished)
            }
        }
    }

    private enum Claim: Sendable {
        case trial(TrialRecord, resume: Bool)
        case wait
        case done
    }

    /// One transaction: requeue lost trials, claim a waiting one, or create the next.
    private func claim(worker: String) throws -> Claim {
        let sweep = sweep, directory = directory
        return try store.immediate { db in
            let now = Date()
            let study = sweep.study
            // Trials whose driver stopped beating are lost: retry them, or give up.
            let stale = try TrialRecord.filter(Column("study") == study && Column("state") == TrialRecord.State.running.rawValue)
                .filter(Column("heartbeat") < now.addingTimeInterval(-sweep.heartbeatTimeout)).fetchAll(db)
            for var lost in stale {
                if lost.retries < sweep.maxRetries {
                    lost.state = .waiting
                    lost.retries += 1
                    lost.worker = nil
                } else {
                    lost.state = .failed
                    lost.error = "its driver stopped (no heartbeat for \(Int(sweep.heartbeatTimeout)) s) and max_retries is spent"
                    lost.finishedAt = now
                }
                try lost.update(db)
            }
            let all = try TrialRecord.filter(Column("study") == study).order(Column("number")).fetchAll(db)
            if var waiting = all.first(where: { $0.state == .waiting }) {
                waiting.state = .running
                waiting.worker = worker
                waiting.heartbeat = now
                waiting.startedAt = waiting.startedAt ?? now
                try waiting.update(db)
                let resume = waiting.runDirectory.map {
                    FileManager.default.fileExists(atPath: URL(fileURLWithPath: $0).appendingPathComponent("checkpoints/last").path)
                } ?? false
                return .trial(waiting, resume: resume)
            }
            let created = try StudyRecord.fetchOne(db, key: study)?.createdAt ?? now
            let outOfTime = sweep.wallSeconds.map { now.timeIntervalSince(created) >= $0 } ?? false
            let outOfTrials = sweep.trialBudget.map { all.count >= $0 } ?? false
            let stillRunning = all.contains { $0.state == .running }
            if outOfTime || outOfTrials { return stillRunning ? .wait : .done }

            let history = try Self.history(all, maximize: sweep.maximize)
            guard let params = sweep.sampler.suggest(space: sweep.space, history: history, number: all.count) else {
                return stillRunning ? .wait : .done   // the space is exhausted
            }
            var trial = TrialRecord(study: study, number: all.count, state: .running, params: try Self.encode(params))
            trial.worker = worker
            trial.heartbeat = now
            trial.startedAt = now
            trial.runDirectory = directory.appendingPathComponent(String(format: "trials/%04d", all.count)).path
            try trial.insert(db)
            return .trial(trial, resume: false)
        }
    }

    /// Runs a claimed trial and records how it ended.
    private func execute(_ trial: TrialRecord, resume: Bool, worker: String) throws -> TrialRecord {
        let params = try Self.decode(trial.params)
        let runDirectory = URL(fileURLWithPath: trial.runDirectory ?? directory.appendingPathComponent("trials/\(trial.number)").path)
        if !resume { try? FileManager.default.removeItem(at: runDirectory) }
        try FileManager.default.createDirectory(at: runDirectory.deletingLastPathComponent(), withIntermediateDirectories: true)
        let assignment = TrialAssignment(study: sweep.study, number: trial.number, params: params,
                                         runDirectory: runDirectory, resume: resume)
        let trialID = trial.id!
        let result: Result<TrialResult, any Error>
        do {
            result = .success(try runner.run(assignment) { [self] step, value in
                (try? reportAndDecide(trialID: trialID, number: trial.number, step: step, value: value)) ?? false
            })
        } catch {
            result = .failure(error)
        }
        let sweep = sweep
        return try store.immediate { db in
            guard var record = try TrialRecord.fetchOne(db, key: trialID) else { throw SweepError(description: "trial \(trialID) vanished") }
            // Only the worker that still holds the trial records its end.
            guard record.state == .running, record.worker == worker else { return record }
            record.finishedAt = Date()
            record.worker = nil
            switch result {
            case let .success(.complete(value)):
                record.state = .complete
                record.value = value
            case let .success(.pruned(value)):
                record.state = .pruned
                record.value = value
            case let .failure(error):
                record.error = "\(error)"
                if record.retries < sweep.maxRetries {
                    record.state = .waiting
                    record.retries += 1
                    record.finishedAt = nil
                } else {
                    record.state = .failed
                }
            }
            try record.update(db)
            return record
        }
    }

    /// Stores an intermediate value and asks the pruner about it.
    private func reportAndDecide(trialID: Int64, number: Int, step: Int, value: Double) throws -> Bool {
        let sweep = sweep
        return try store.immediate { db in
            try IntermediateValueRecord(trialID: trialID, step: step, value: value).save(db)
            let rows = try Row.fetchAll(db, sql: """
                SELECT trial.number AS number, trial.state AS state, intermediateValue.step AS step, intermediateValue.value AS value
                FROM intermediateValue JOIN trial ON trial.id = intermediateValue.trialID
                WHERE trial.study = ?
                """, arguments: [sweep.study])
            var values: [Int: [Int: Double]] = [:], complete: [Int: Bool] = [:]
            for row in rows {
                let trialNumber: Int = row["number"], state: String = row["state"]
                let raw: Double = row["value"]
                values[trialNumber, default: [:]][row["step"]] = sweep.maximize ? -raw : raw
                complete[trialNumber] = state == TrialRecord.State.complete.rawValue
            }
            let curves = values.map { LearningCurve(number: $0.key, values: $0.value, isComplete: complete[$0.key] ?? false) }
            guard let mine = curves.first(where: { $0.number == number }) else { return false }
            return sweep.pruner.shouldPrune(mine, step: step, others: curves.filter { $0.number != number })
        }
    }

    // MARK: Encoding

    static func history(_ trials: [TrialRecord], maximize: Bool) throws -> SamplerHistory {
        var observations: [SamplerHistory.Observation] = []
        var suggested = Set<[String: ParameterValue]>()
        for trial in trials {
            let params = try decode(trial.params)
            suggested.insert(params)
            // Pruned trials count with the value they were stopped at (as Optuna's TPE uses them):
            // they tell the sampler where not to look.
            if trial.state == .complete || trial.state == .pruned, let value = trial.value, value.isFinite {
                observations.append(.init(params: params, loss: maximize ? -value : value))
            }
        }
        return SamplerHistory(observations: observations, suggested: suggested)
    }

    static func encode(_ params: [String: ParameterValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(params), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> [String: ParameterValue] {
        try JSONDecoder().decode([String: ParameterValue].self, from: Data(text.utf8))
    }
}

/// Marks this driver's running trials as alive once a second.
private final class Heartbeat: @unchecked Sendable {
    private let store: ExperimentStore
    private let driverID: String
    private let lock = NSLock()
    private var running = true

    init(store: ExperimentStore, driverID: String) {
        self.store = store
        self.driverID = driverID
    }

    func start() {
        let thread = Thread { [self] in
            while isRunning {
                let prefix = driverID + "#"
                try? store.immediate { db in
                    try db.execute(sql: "UPDATE trial SET heartbeat = ? WHERE state = 'running' AND substr(worker, 1, ?) = ?",
                                   arguments: [Date(), prefix.count, prefix])
                }
                usleep(1_000_000)
            }
        }
        thread.start()
    }

    private var isRunning: Bool {
        lock.lock(); defer { lock.unlock() }
        return running
    }

    func stop() {
        lock.lock(); running = false; lock.unlock()
    }
}

/// The first error any worker hit.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: (any Error)?

    func set(_ error: any Error) {
        lock.lock(); if self.error == nil { self.error = error }; lock.unlock()
    }
}
