import ArgumentParser
import Flock
import FlockBench
import Foundation

struct MemoryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "The largest residual MLP that trains within a per-rank memory budget at zero 0–3, with and without recomputation: each model's peak resident memory per rank, samples/s and steady step time (flock train under mpirun).")

    @Option(help: "Ranks of each job (mpirun -np).")
    var ranks = 4

    @Option(help: "Per-rank memory budget in MB: a model fits when every rank's peak resident memory stays within it.")
    var budgetMb = 1024

    @Option(help: "Units of every Dense layer (and features of the generated data).")
    var width = 1024

    @Option(help: "Global batch size.")
    var batchSize = 128

    @Option(help: "Residual blocks (two Dense layers each) of the first model; each next model doubles them.")
    var firstDepth = 2

    @Option(help: "Deepest model to try.")
    var maxDepth = 256

    @Option(help: "Steps of each job (one batch an epoch, so each step is timed).")
    var batches = 8

    @Option(help: "First steps left out of the step time (page faults, first allocations).")
    var warmUpBatches = 2

    @Option(help: "Settings to run, comma-separated: zero stage, then r for recomputation (e.g. 0,0r,3,3r; default all eight).")
    var settings: String?

    @Option(help: "Folder for the generated data and runs (default: a new temporary folder, removed after).")
    var folder: String?

    @Flag(help: "End with one JSON line.")
    var json = false

    func parsedSettings() throws -> [(zero: Int, recompute: Bool)]? {
        try settings.map { list in
            try list.split(separator: ",").map { word in
                let recompute = word.hasSuffix("r")
                guard let zero = Int(recompute ? word.dropLast() : word), (0...3).contains(zero) else {
                    throw ValidationError("--settings: '\(word)' is not a zero stage 0–3 with an optional r")
                }
                return (zero, recompute)
            }
        }
    }

    func validate() throws {
        guard (1...256).contains(ranks) else { throw ValidationError("--ranks: expected 1 to 256, got \(ranks)") }
        guard budgetMb >= 1 else { throw ValidationError("--budget-mb: expected a positive number, got \(budgetMb)") }
        guard width >= 1, batchSize >= 1 else { throw ValidationError("--width and --batch-size: expected positive numbers") }
        guard firstDepth >= 1, maxDepth >= firstDepth else { throw ValidationError("--first-depth and --max-depth: expected 1 ≤ first ≤ max") }
        guard warmUpBatches >= 0, batches > warmUpBatches else {
            throw ValidationError("--batches and --warm-up-batches: expected 0 ≤ warm-up < batches, got \(warmUpBatches) and \(batches)")
        }
        _ = try parsedSettings()
    }

    func run() throws {
        var bench = MemoryBenchmark(executable: URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath())
        bench.ranks = ranks
        bench.budgetBytes = Int64(budgetMb) * 1_000_000
        bench.width = width
        bench.batchSize = batchSize
        bench.firstDepth = firstDepth
        bench.maxDepth = maxDepth
        bench.batches = batches
        bench.warmUpBatches = warmUpBatches
        if let chosen = try parsedSettings() { bench.settings = chosen }
        let made = folder == nil
        let place = folder.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("flock-bench-memory-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: place, withIntermediateDirectories: true) } catch { throw CommandFailure("\(place.path): \(error)") }
        defer { if made { try? FileManager.default.removeItem(at: place) } }
        print("residual MLPs of width \(width), batch \(batchSize), Adam, \(ranks) ranks (mpirun); budget \(budgetMb) MB per rank; "
              + "\(batches) steps, step time the median of the last \(batches - warmUpBatches)")
        let trials = try bench.run(in: place) { trial in
            let setting = "zero \(trial.zero)\(trial.recompute ? ", recompute" : "")"
            let peaks = trial.peakBytes.isEmpty ? "" : ", peak \(trial.peakBytes.min()! / 1_000_000)–\(trial.peakBytes.max()! / 1_000_000) MB per rank"
            let rate = trial.samplesPerSecond.map { String(format: ", %.0f samples/s", $0) } ?? ""
            let step = trial.stepTime.map { String(format: ", step %.3f s (%.3f–%.3f)", $0.median, $0.minimum, $0.maximum) } ?? ""
            print(String(format: "%@, depth %d: %.1fM parameters", setting, trial.depth, Double(trial.parameters) / 1e6)
                  + peaks + rate + step + (trial.failure.map { "  does not fit: \($0)" } ?? "  fits"))
        }
        for best in MemoryBenchmark.largest(trials) {
            let size = best.parameters.map { String(format: "%.1fM parameters", Double($0) / 1e6) } ?? "nothing fits"
            print("largest at zero \(best.zero)\(best.recompute ? " with recomputation" : ""): \(size)")
        }
        if json { try JSONOutput.print(result: bench.json(trials), benchmark: "memory") }
    }
}
