import FlockNN
import FlockTestSupport
import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

/// Property: every numeric field of a sweep file, at the edges of its range and of the
/// number types (zeros, subnormals, values that round onto a bound as a Float, the largest
/// integers and doubles, fractions where an integer belongs), gives either an error naming
/// that field or a sweep whose sampler suggests trials, each of which makes a training
/// config, and whose pruner decides — never a trap (which would end this test process) or
/// a hang. Longer with `FLOCK_FUZZ_ITERATIONS` (more suggestions per sweep).
@Suite(.hangLimit) struct SweepNumberPropertyTests {
    static let edges: [String] = [
        "0", "-0.0", "4.9e-324", "1e-300", "1e-50", "1.401298464324817e-45", "1e-8", "0.5", "0.99999999999", "1", "1.0000000001",
        "1.5", "2", "3", "100", "2147483647", "2147483648", "9007199254740993", "9223372036854775807", "3.4028234663852886e+38",
        "1e39", "1.7976931348623157e+308", "-1", "-1e-50", "-9223372036854775808",
    ]

    /// One field: the sweep lines that set it (`{}` stands for the value) and the path its
    /// errors name.
    struct Field: CustomStringConvertible {
        let lines: String
        let path: String
        var space = "  - {name: optimizer.lr, type: float, low: 0.001, high: 0.1}"
        var description: String { lines.isEmpty ? space : lines }
    }

    static var fields: [Field] {
        var fields = [
            Field(lines: "seed: {}", path: "seed"),
            Field(lines: "budget: {trials: {}}", path: "budget.trials"),
            Field(lines: "budget: {wall_seconds: {}}", path: "budget.wall_seconds"),
            Field(lines: "sampler: {name: tpe, startup_trials: {}}", path: "sampler.startup_trials"),
            Field(lines: "sampler: {name: tpe, candidates: {}}", path: "sampler.candidates"),
            Field(lines: "sampler: {name: gp, startup_trials: {}}", path: "sampler.startup_trials"),
            Field(lines: "pruner: {name: median, startup_trials: {}}", path: "pruner.startup_trials"),
            Field(lines: "pruner: {name: median, warmup_steps: {}}", path: "pruner.warmup_steps"),
            Field(lines: "pruner: {name: asha, min_resource: {}}", path: "pruner.min_resource"),
            Field(lines: "pruner: {name: asha, reduction_factor: {}}", path: "pruner.reduction_factor"),
            Field(lines: "pruner: {name: hyperband, max_resource: {}}", path: "pruner.max_resource"),
            Field(lines: "workers: {}", path: "workers"),
            Field(lines: "launcher: mpirun\nranks_per_trial: {}", path: "ranks_per_trial"),
            Field(lines: "max_retries: {}", path: "max_retries"),
            Field(lines: "heartbeat_timeout: {}", path: "heartbeat_timeout"),
            Field(lines: "launcher: slurm\nslurm: {cpus_per_task: {}}", path: "slurm.cpus_per_task"),
            Field(lines: "launcher: slurm\nslurm: {poll_seconds: {}}", path: "slurm.poll_seconds"),
        ]
        for (name, other) in [("low", "high: 0.1"), ("high", "low: 0.001")] {
            fields.append(Field(lines: "", path: "space[0].\(name)", space: "  - {name: optimizer.lr, type: float, \(name): {}, \(other)}"))
            fields.append(Field(lines: "", path: "space[0].\(name)", space: "  - {name: optimizer.lr, type: float, \(name): {}, \(other), log: true}"))
        }
        fields.append(Field(lines: "", path: "space[0].step", space: "  - {name: optimizer.lr, type: float, low: 0.001, high: 0.1, step: {}}"))
        for (name, other) in [("low", "high: 64"), ("high", "low: 1")] {
            fields.append(Field(lines: "", path: "space[0].\(name)", space: "  - {name: \"model[0].units\", type: int, \(name): {}, \(other)}"))
        }
        fields.append(Field(lines: "", path: "space[0].step", space: "  - {name: \"model[0].units\", type: int, low: 1, high: 64, step: {}}"))
        fields.append(Field(lines: "", path: "space[0].choices[0]", space: "  - {name: \"model[1].rate\", type: categorical, choices: [{}, 0.1]}"))
        return fields
    }

    // Past the default start-up trials (TPE 5, GP 10), so the samplers' models run too.
    static let suggestions = max(12, Int(ProcessInfo.processInfo.environment["FLOCK_FUZZ_ITERATIONS"] ?? "") ?? 12)

    @Test func everyNumberOfASweepFileAtItsEdgesIsAnErrorNamingItOrASweepThatSamples() throws {
        var accepted = 0, refused = 0
        for field in Self.fields {
            for value in Self.edges {
                let lines = field.lines.replacingOccurrences(of: "{}", with: value)
                let text = """
                    study: edges
                    base_config:
                      data: {source: \(ChildProcess.digitsCSV), label_column: label}
                      model: [{type: dense, units: 16, activation: relu}, {type: dropout, rate: 0.1}, {type: dense, units: 10}]
                    space:
                    \(field.space.replacingOccurrences(of: "{}", with: value))
                    \(lines.contains("budget:") ? "" : "budget: {trials: 5}")
                    \(lines)
                    """
                let sweep: SweepConfig
                do { sweep = try SweepConfig.parse(text, baseDirectory: "/") } catch let error as ConfigError {
                    // A range endpoint may be refused as the pair (`space[0].high: expected high >
                    // low`), as the parameter whose values make no valid config (`space[0]: …`), or
                    // as the grid it spans (`space: a grid of … combinations`).
                    let named = error.path == field.path || (field.path.hasPrefix("space") && error.path.hasPrefix("space"))
                    #expect(named, "\(field) = \(value): \(error)")
                    refused += 1
                    continue
                } catch {
                    Issue.record("\(field) = \(value): not a field-path error: \(error)")
                    continue
                }
                try checkSamples(sweep, field: field, value: value)
                accepted += 1
            }
        }
        #expect(accepted > 0 && refused > 0, "accepted \(accepted), refused \(refused)")
    }

    /// A few suggestions, each a training config, and a pruner decision on two curves.
    func checkSamples(_ sweep: SweepConfig, field: Field, value: String) throws {
        var suggested: Set<[String: ParameterValue]> = []
        var observations: [SamplerHistory.Observation] = []
        for number in 0..<Self.suggestions {
            let history = SamplerHistory(observations: observations, suggested: suggested)
            guard let params = sweep.sampler.suggest(space: sweep.space, history: history, number: number) else { break }
            do { _ = try sweep.trialConfig(params) } catch {
                Issue.record("\(field) = \(value): suggestion \(params) makes no config: \(error)")
            }
            suggested.insert(params)
            observations.append(.init(params: params, loss: Double(number)))
        }
        #expect(!suggested.isEmpty, "\(field) = \(value): no suggestion")
        let curves = [LearningCurve(number: 0, values: [1: 1, 2: 0.5], isComplete: true),
                      LearningCurve(number: 1, values: [1: 2], isComplete: false)]
        _ = sweep.pruner.shouldPrune(curves[1], step: 1, others: [curves[0]])
    }
}
