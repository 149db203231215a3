import FlockNN
import FlockStore
import FlockTrain
import Foundation

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
    /// Finished trials from elsewhere the sampler is told first (`warm_start:`).
    public let told: [ToldTrial]
    private let driverID: String
    private let toldWasRead: Bool

    /// `told`: the trials `warm_start:` names, read by the caller (`SweepConfig.optunaWarmStart()`
    /// in FlockOptuna); a sweep file with `warm_start:` and no told trials is refused by `run`.
    public init(sweep: SweepConfig, store: ExperimentStore, directory: URL, runner: any TrialRunner, told: [ToldTrial]? = nil) {
        self.sweep = sweep
        self.store = store
        self.directory = directory
        self.runner = runner
        self.told = told ?? []
        toldWasRead = told != nil
        driverID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    }

    /// Registers the study (or checks that an existing one has the same definition).
    public func prepare() throws {
        let record = StudyRecord(name: sweep.study, definition: sweep.definition, base: try ConfigLoader.yaml(of: sweep.base),
                                 direction: sweep.maximize ? "maximize" : "minimize")
        let stored = try store.registerStudy(record)
        guard stored.definition == sweep.definition else {
            throw SweepError(description: "study '\(sweep.study)' already exists in this store with a different sweep definition; use another study name or store")
        }
    }

    /// Runs until the budget is spent; returns the study's trials.
    public func run(workers: Int? = nil, onTrialFinished: @escaping @Sendable (TrialRecord) -> Void = { _ in }) throws -> [TrialRecord] {
        if let source = sweep.warmStart, !toldWasRead {
            throw ConfigError(path: "warm_start", "names Optuna study '\(source.study)', but its trials were not read: pass told: try sweep.optunaWarmStart() (module FlockOptuna) to SweepDriver")
        }
        try prepare()
        let count = workers ?? sweep.workers
        let tracking = try SweepTracking(sweep: sweep, directory: directory)
        let heartbeat = Heartbeat(store: store, driverID: driverID)
        heartbeat.start()
        defer { heartbeat.stop() }
        let errors = ErrorBox()
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread { [self] in
                do { try workLoop(worker: "\(driverID)#\(index)", tracking: tracking, onTrialFinished: onTrialFinished) } catch { errors.set(error) }
                group.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        tracking?.studyEnded(failed: errors.error != nil)
        if let error = errors.error { throw error }
        return try trials()
    }

    public func trials() throws -> [TrialRecord] {
        try store.trials(ofStudy: sweep.study)
    }

    // MARK: One worker

    private func workLoop(worker: String, tracking: SweepTracking?, onTrialFinished: @Sendable (TrialRecord) -> Void) throws {
        while true {
            switch try claim(worker: worker) {
            case .done:
                return
            case .wait:
                // Others still run trials that may be retried if they die: look again soon.
                usleep(200_000)
            case let .claimed(record):
                // A retried trial continues from its last checkpoint when it wrote one.
                let resume = record.runDirectory.map {
                    FileManager.default.fileExists(atPath: URL(fileURLWithPath: $0).appendingPathComponent("checkpoints/last").path)
                } ?? false
                let finished = try execute(record, resume: resume, worker: worker, tracking: tracking)
                onTrialFinished(finished)
            }
        }
    }

    /// Requeues lost trials, claims a waiting one, or creates the next from the sampler
    /// (all in one store transaction).
    private func claim(worker: String) throws -> TrialClaim {
        let sweep = sweep, directory = directory, told = told
        let policy = LostTrialPolicy(heartbeatTimeout: sweep.heartbeatTimeout, maxRetries: sweep.maxRetries)
        return try store.claimTrial(study: sweep.study, worker: worker, policy: policy) { study, all in
            let outOfTime = sweep.wallSeconds.map { Date().timeIntervalSince(study.createdAt) >= $0 } ?? false
            let outOfTrials = sweep.trialBudget.map { all.count >= $0 } ?? false
            if outOfTime || outOfTrials { return nil }
            let history = try Self.history(all, maximize: sweep.maximize, told: told)
            // nil when the space is exhausted.
            guard let params = sweep.sampler.suggest(space: sweep.space, history: history, number: all.count) else { return nil }
            return NewTrial(params: try Self.encode(params),
                            runDirectory: directory.appendingPathComponent(String(format: "trials/%04d", all.count)).path)
        }
    }

    /// Runs a claimed trial and records how it ended.
    private func execute(_ trial: TrialRecord, resume: Bool, worker: String, tracking: SweepTracking?) throws -> TrialRecord {
        let params = try Self.decode(trial.params)
        tracking?.trialStarted(trial, params: params)
        let runDirectory = URL(fileURLWithPath: trial.runDirectory ?? directory.appendingPathComponent("trials/\(trial.number)").path)
        // An attempt still out as a batch job (a driver before this one submitted it) keeps its directory.
        if !resume && trial.job == nil { try? FileManager.default.removeItem(at: runDirectory) }
        try FileManager.default.createDirectory(at: runDirectory.deletingLastPathComponent(), withIntermediateDirectories: true)
        let assignment = TrialAssignment(study: sweep.study, number: trial.number, params: params,
                                         runDirectory: runDirectory, resume: resume)
        let trialID = trial.id!
        let outcome: TrialOutcome
        do {
            switch try runner.run(assignment, report: { [self] step, value in
                tracking?.intermediateValue(trial: trial.number, step: step, value: value)
                return (try? reportAndDecide(trialID: trialID, number: trial.number, step: step, value: value)) ?? false
            }) {
            case let .complete(value): outcome = .complete(value)
            case let .pruned(value): outcome = .pruned(value)
            }
        } catch {
            outcome = .failed("\(error)")
        }
        let finished = try store.finishTrial(id: trialID, worker: worker, outcome: outcome, maxRetries: sweep.maxRetries)
        tracking?.trialFinished(finished, outcome: outcome)
        return finished
    }

    /// Stores an intermediate value and asks the pruner about it.
    private func reportAndDecide(trialID: Int64, number: Int, step: Int, value: Double) throws -> Bool {
        let maximize = sweep.maximize
        let curves = try store.recordIntermediateValue(trialID: trialID, step: step, value: value).map { stored in
            LearningCurve(number: stored.number, values: stored.values.mapValues { maximize ? -$0 : $0 },
                          isComplete: stored.state == .complete)
        }
        guard let mine = curves.first(where: { $0.number == number }) else { return false }
        return sweep.pruner.shouldPrune(mine, step: step, others: curves.filter { $0.number != number })
    }

    // MARK: Encoding

    static func history(_ trials: [TrialRecord], maximize: Bool, told: [ToldTrial] = []) throws -> SamplerHistory {
        // Told trials come first, as if they had run before this study's first trial.
        var observations = told.compactMap { trial in
            trial.value.flatMap { $0.isFinite ? SamplerHistory.Observation(params: trial.params, loss: maximize ? -$0 : $0) : nil }
        }
        var suggested = Set(told.map(\.params))
        var pending: [[String: ParameterValue]] = []
        for trial in trials {
            let params = try decode(trial.params)
            suggested.insert(params)
            if trial.state == .running || trial.state == .waiting { pending.append(params) }
            // Pruned trials count with the value they were stopped at (as Optuna's TPE uses them):
            // they tell the sampler where not to look.
            if trial.state == .complete || trial.state == .pruned, let value = trial.value, value.isFinite {
                observations.append(.init(params: params, loss: maximize ? -value : value))
            }
        }
        return SamplerHistory(observations: observations, suggested: suggested, pending: pending)
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
                try? store.heartbeat(workerPrefix: driverID + "#")
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
