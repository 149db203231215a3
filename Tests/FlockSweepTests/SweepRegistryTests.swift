import FlockNN
import FlockStore
import FlockTestSupport
import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

/// Sampler and pruner kinds that a program registers: named in a sweep file, decoded
/// with their own fields, and driving the study; the registries' names in errors.
@Suite struct SweepRegistryTests {
    /// `sampler: {name: stride, first: 7, step: 3}`: trial n gets `model[0].units` =
    /// first + n·step, which no standard sampler would suggest in that order.
    struct StrideSpec: SamplerSpec {
        static let typeName = "stride"
        var first: Int
        var step: Int

        enum CodingKeys: String, CodingKey, CaseIterable { case first, step }

        init(from decoder: any Decoder) throws {
            let c = try decoder.fields(CodingKeys.self, of: "sampler 'stride'")
            first = try c.decode(Int.self, forKey: .first)
            step = try c.decodeIfPresent(Int.self, forKey: .step) ?? 1
        }

        func make(space: SearchSpace, trialBudget: Int?, seed: Int) throws -> any Sampler {
            StrideSampler(first: first, step: step)
        }
    }

    struct StrideSampler: Sampler {
        let first: Int
        let step: Int

        func suggest(space: SearchSpace, history: SamplerHistory, number: Int) -> [String: ParameterValue]? {
            ["model[0].units": .int(first + number * step)]
        }
    }

    /// `pruner: {name: cutoff, epoch: 2}`: stops every trial once it reports `epoch`.
    struct CutoffSpec: PrunerSpec {
        static let typeName = "cutoff"
        var epoch: Int

        enum CodingKeys: String, CodingKey, CaseIterable { case epoch }

        init(from decoder: any Decoder) throws {
            epoch = try decoder.fields(CodingKeys.self, of: "pruner 'cutoff'").decode(Int.self, forKey: .epoch)
        }

        func make(epochs: Int) -> any Pruner { CutoffPruner(epoch: epoch) }
    }

    struct CutoffPruner: Pruner {
        let epoch: Int

        func shouldPrune(_ trial: LearningCurve, step: Int, others: [LearningCurve]) -> Bool { step >= epoch }
    }

    /// Reports 1/step for steps 1…5 and stops when told to.
    struct CurveRunner: TrialRunner {
        func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
            for step in 1...5 where report(step, 1 / Double(step)) { return .pruned(1 / Double(step)) }
            return .complete(0.2)
        }
    }

    static func sweep(_ extra: String, samplers: SamplerRegistry = .standard, pruners: PrunerRegistry = .standard) throws -> SweepConfig {
        try SweepConfig.parse("""
            study: registry
            base_config:
              data: {source: \(ChildProcess.digitsCSV), label_column: label}
              model: [{type: dense, units: 16}, {type: dense, units: 10}]
              epochs: 7
            space:
              - {name: "model[0].units", type: int, low: 1, high: 64}
            budget: {trials: 4}
            \(extra)
            """, baseDirectory: "/", samplers: samplers, pruners: pruners)
    }

    static func message(_ extra: String, samplers: SamplerRegistry = .standard, pruners: PrunerRegistry = .standard) -> String {
        do {
            _ = try sweep(extra, samplers: samplers, pruners: pruners)
            return "no error"
        } catch { return "\(error)" }
    }

    /// Runs `sweep` to the end on a fresh store with one worker.
    func run(_ sweep: SweepConfig, runner: some TrialRunner) throws -> (trials: [TrialRecord], driver: SweepDriver) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let driver = SweepDriver(sweep: sweep, store: try ExperimentStore(path: folder.appendingPathComponent("s.sqlite").path),
                                 directory: folder, runner: runner)
        return (try driver.run(workers: 1), driver)
    }

    @Test func aRegisteredSamplerKindNamedInTheSweepFileChoosesEachTrial() throws {
        var samplers = SamplerRegistry.standard
        samplers.register(StrideSpec.self)
        let sweep = try Self.sweep("sampler: {name: stride, first: 7, step: 3}", samplers: samplers)
        let units = FunctionRunner { params in
            guard case let .int(units) = params["model[0].units"] else { throw SweepError(description: "no units") }
            return Double(units)
        }
        let trials = try run(sweep, runner: units).trials
        #expect(trials.map(\.value) == [7, 10, 13, 16])
        #expect(try trials.map { try SweepDriver.decode($0.params) } == [7, 10, 13, 16].map { ["model[0].units": .int($0)] })
    }

    @Test func aRegisteredPrunerKindNamedInTheSweepFileStopsTrials() throws {
        var pruners = PrunerRegistry.standard
        pruners.register(CutoffSpec.self)
        let (trials, driver) = try run(try Self.sweep("sampler: {name: random}\npruner: {name: cutoff, epoch: 2}", pruners: pruners),
                                       runner: CurveRunner())
        #expect(trials.count == 4 && trials.allSatisfy { $0.state == .pruned && $0.value == 0.5 })
        let stored = try driver.store.snapshot { db in try IntermediateValueRecord.fetchAll(db) }
        #expect(Set(stored.map(\.step)) == [1, 2])
    }

    @Test func anUnknownNameListsTheRegisteredKindsTheUsersIncluded() {
        var samplers = SamplerRegistry.standard
        samplers.register(StrideSpec.self)
        var pruners = PrunerRegistry.standard
        pruners.register(CutoffSpec.self)
        #expect(Self.message("sampler: {name: bayes}", samplers: samplers)
                == "sampler.name: unknown value 'bayes' (expected one of: grid, random, tpe, gp, auto, stride)")
        #expect(Self.message("pruner: {name: sha}", pruners: pruners)
                == "pruner.name: unknown value 'sha' (expected one of: none, median, asha, hyperband, cutoff)")
        // Without registering, the same name is unknown.
        #expect(Self.message("sampler: {name: stride, first: 1}")
                == "sampler.name: unknown value 'stride' (expected one of: grid, random, tpe, gp, auto)")
    }

    @Test func aFieldOfAnotherKindIsAnErrorNamingIt() {
        #expect(Self.message("pruner: {name: median, reduction_factor: 3}")
                == "pruner.reduction_factor: not a field of pruner 'median' (expected one of: name, startup_trials, warmup_steps)")
        #expect(Self.message("pruner: {name: asha, max_resource: 9}")
                == "pruner.max_resource: not a field of pruner 'asha' (expected one of: name, min_resource, reduction_factor)")
        #expect(Self.message("pruner: {min_resource: 2}") == "pruner.min_resource: not a field of pruner 'none' (expected one of: name)")
        #expect(Self.message("sampler: {name: random, candidates: 10}")
                == "sampler.candidates: not a field of sampler 'random' (expected one of: name)")
        #expect(Self.message("sampler: {name: gp, warmup_steps: 1}")
                == "sampler.warmup_steps: not a field of sampler 'gp' (expected one of: name, startup_trials, candidates)")
        var samplers = SamplerRegistry.standard
        samplers.register(StrideSpec.self)
        #expect(Self.message("sampler: {name: stride, first: 1, candidates: 5}", samplers: samplers)
                == "sampler.candidates: not a field of sampler 'stride' (expected one of: name, first, step)")
    }

    @Test func eachStandardKindKeepsItsDefaults() throws {
        let tpe = try #require(try Self.sweep("").sampler as? TPESampler)
        #expect(tpe.startupTrials == 5 && tpe.candidates == 100)
        let gp = try #require(try Self.sweep("sampler: {name: gp}").sampler as? GPSampler)
        #expect(gp.startupTrials == 10 && gp.candidates == 2048)
        let auto = try #require(try Self.sweep("sampler: {name: auto, startup_trials: 3}").sampler as? GPSampler)
        #expect(auto.startupTrials == 3 && auto.candidates == 2048)
        #expect(try Self.sweep("").pruner is NoPruner)
        let median = try #require(try Self.sweep("pruner: {name: median}").pruner as? MedianPruner)
        #expect(median.startupTrials == 5 && median.warmupSteps == 0)
        // Hyperband's budget is the base config's epochs unless max_resource is given.
        let hyperband = try #require(try Self.sweep("pruner: {name: hyperband, min_resource: 2}").pruner as? HyperbandPruner)
        #expect(hyperband.minResource == 2 && hyperband.maxResource == 7)
    }
}
