import FlockStore
import FlockTestSupport
import Foundation
import Testing
@testable import FlockSweep

/// The sweep driver on a real SQLite store, with objectives that return at once.
@Suite struct DriverTests {
    static let digits = ChildProcess.digitsCSV

    /// A sweep over Branin's box; the base config only has to be valid.
    static func sweep(_ extra: String = "", trials: Int = 40, study: String = "branin") throws -> SweepConfig {
        try SweepConfig.parse("""
            study: \(study)
            base_config:
              data: {source: \(digits), label_column: label}
              model: [{type: dense, units: 10}]
              optimizer: {name: momentum}
            space:
              - {name: optimizer.lr, type: float, low: 0.001, high: 0.1, log: true}
              - {name: optimizer.momentum, type: float, low: 0.0, high: 0.9}
            objective: {metric: val_loss, direction: minimize}
            budget: {trials: \(trials)}
            sampler: {name: tpe, startup_trials: 5}
            \(extra)
            """, baseDirectory: "/")
    }

    func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
    }

    static let branin = FunctionRunner { params in
        let x1 = -5 + 15 * (log10(params["optimizer.lr"]!.doubleValue!) + 3) / 2
        return TestFunctions.branin(x1, 15 * params["optimizer.momentum"]!.doubleValue! / 0.9)
    }

    @Test func eightWorkersOnOneStoreFinishExactlyTheBudgetWithoutDuplicates() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try ExperimentStore(path: folder.appendingPathComponent("flock.sqlite").path)
        let sweep = try Self.sweep(trials: 40)
        // Two drivers (as two processes would be) with four workers each, on one store.
        let drivers = (0..<2).map { _ in SweepDriver(sweep: sweep, store: try! ExperimentStore(path: store.path), directory: folder, runner: Self.branin) }
        let group = DispatchGroup()
        let failures = Failures()
        for driver in drivers {
            group.enter()
            Thread {
                do { _ = try driver.run(workers: 4) } catch { failures.add(error) }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(failures.all.isEmpty, "\(failures.all)")
        let trials = try drivers[0].trials()
        #expect(trials.count == 40)
        #expect(trials.map(\.number) == Array(0..<40))
        #expect(trials.allSatisfy { $0.state == .complete && $0.value != nil })
        #expect(Set(trials.map(\.params)).count == 40, "a configuration ran twice")
    }

    @Test func aCrashingTrialIsRetriedThenRecordedFailedAndTheSweepGoesOn() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let attempts = Failures()
        let runner = FunctionRunner { params in
            let lr = params["optimizer.lr"]!.doubleValue!
            attempts.add(SweepError(description: "\(lr)"))
            // The very first configuration always fails; everything else succeeds.
            if attempts.all.first.map({ "\($0)" == "\(lr)" }) == true { throw SweepError(description: "diverged") }
            return lr
        }
        let driver = SweepDriver(sweep: try Self.sweep("max_retries: 2", trials: 6), store: try ExperimentStore(path: folder.appendingPathComponent("s.sqlite").path),
                                 directory: folder, runner: runner)
        let trials = try driver.run(workers: 1)
        #expect(trials.count == 6)
        let failed = trials.filter { $0.state == .failed }
        #expect(failed.count == 1 && failed[0].retries == 2 && failed[0].error == "diverged")
        #expect(trials.filter { $0.state == .complete }.count == 5)
    }

    @Test func prunedTrialsStopAndAreRecordedPruned() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Curves: trial n reports value (n + 1) · step; ASHA at rungs 1, 3.
        struct CurveRunner: TrialRunner {
            func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
                var last = 0.0
                for step in 1...5 {
                    last = Double(trial.number % 4 + 1) / Double(step)
                    if report(step, last) { return .pruned(last) }
                }
                return .complete(last)
            }
        }
        let sweep = try Self.sweep("pruner: {name: asha, min_resource: 1, reduction_factor: 3}", trials: 8)
        let driver = SweepDriver(sweep: sweep, store: try ExperimentStore(path: folder.appendingPathComponent("s.sqlite").path),
                                 directory: folder, runner: CurveRunner())
        let trials = try driver.run(workers: 1)
        // Trial 0 is the first at every rung: it runs to the end. Trials 1–3 are worse at
        // step 1 than the best so far and stop there; trial 4 ties trial 0's curve.
        #expect(trials[0].state == .complete)
        #expect(trials[1].state == .pruned && trials[2].state == .pruned && trials[3].state == .pruned)
        let stored = try driver.store.snapshot { db in try IntermediateValueRecord.fetchAll(db) }
        let steps = Dictionary(grouping: stored, by: \.trialID).mapValues { $0.map(\.step).max()! }
        #expect(steps[trials[1].id!] == 1 && steps[trials[0].id!] == 5)
    }

    @Test func aStudyRestartedWithAnotherDefinitionIsRefused() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try ExperimentStore(path: folder.appendingPathComponent("s.sqlite").path)
        try SweepDriver(sweep: try Self.sweep(trials: 2), store: store, directory: folder, runner: Self.branin).prepare()
        let other = SweepDriver(sweep: try Self.sweep(trials: 3), store: store, directory: folder, runner: Self.branin)
        let error = #expect(throws: SweepError.self) { try other.prepare() }
        #expect(error?.description.contains("already exists in this store with a different sweep definition") == true)
    }

    @Test func sweepFileErrorsNameTheField() {
        func message(_ extra: String, space: String? = nil) -> String {
            do {
                _ = try SweepConfig.parse("""
                    study: s
                    base_config: {data: {source: \(Self.digits), label_column: label}, model: [{type: dense, units: 10}]}
                    space:
                    \(space ?? "  - {name: optimizer.lr, type: float, low: 0.001, high: 0.1, log: true}")
                    budget: {trials: 3}
                    \(extra)
                    """, baseDirectory: "/")
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(message("sampler: {name: bayes}") == "sampler.name: unknown value 'bayes' (expected one of: grid, random, tpe, gp, auto)")
        #expect(message("", space: "  - {name: optimizer.lr, type: float, low: 0, high: 0.1, log: true}")
                == "space[0].low: a log range needs low > 0, got 0.0")
        #expect(message("", space: "  - {name: model.units, type: int, low: 1, high: 3}").hasPrefix("space[0]: model.units=1 does not make a valid training config"))
        #expect(message("", space: "  - {name: \"model[0].units\", type: int, low: -2, high: 3}").contains("model[0].units: expected a positive integer, got -2"))
        #expect(message("objective: {metric: val_auc}").hasPrefix("objective.metric: unknown value 'val_auc'"))
        #expect(message("sampler: {name: grid}").hasPrefix("sampler.name: grid needs every parameter to be int or categorical"))
        #expect(message("workerz: 2").hasPrefix("workerz: unknown field"))
    }
}

/// Errors (or markers) collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func add(_ error: any Error) { lock.lock(); errors.append(error); lock.unlock() }
    var all: [any Error] { lock.lock(); defer { lock.unlock() }; return errors }
}
