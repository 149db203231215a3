import ArgumentParser
import Flock
import FlockBench
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure speed against a baseline run in the same process.",
        subcommands: [TrainBench.self, MemoryBench.self, AllreduceBench.self, DataParallelBench.self, PipelineBench.self, SamplerBench.self,
                      BenchAll.self, BenchCompare.self, BenchHistory.self])
}

struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "One MLP, CNN, Transformer or LSTM training step vs the ceiling of the same matrix products, on the kernels this process runs; optionally its PyTorch peer beside it.")

    @Option(help: "Model to time: mlp (784-512-512-10) or cnn (conv16-pool-conv32-pool-dense128-10 on 1×28×28), batch 128; transformer (2 pre-norm encoder blocks, d 128, 4 heads, sequence 64, MLP 512), batch 32; lstm (256 units over 32 steps of 1 value, dense 3), batch 32.")
    var model = "mlp"

    @Option(help: "BLAS threads for the step and the ceiling (default 1).")
    var threads = 1

    @Option(help: "Matrix products' and convolutions' inputs for the step and the ceiling: float32 or bf16 (oneDNN, Float32 accumulation).")
    var precision = "float32"

    @Option(help: "The CNN's convolutions: timed (each shape on the faster of im2col and oneDNN, as training chooses), im2col or onednn.")
    var convolutions = "timed"

    @Option(help: "Which library runs each Float32 product of the step and the ceiling, as matrix_kernels in a config: auto (oneDNN where every side is at least 16, else OpenBLAS), openblas or onednn.")
    var matrixKernels = "auto"

    @Option(help: "Also run the PyTorch peer (cluster/peers/pytorch_<model>.py, from the current folder) with this Python, same threads, autocast bf16 under --precision bf16.")
    var peer: String?

    @Option(help: "Interleaved (ceiling, step) pairs; the ratio is their median, with its spread.")
    var `repeat` = 5

    @Flag(help: "With --precision bf16: also time the Float32 step, --repeat runs of each interleaved, and print bf16 ÷ Float32 per pair.")
    var againstFloat32 = false

    @Option(help: "Also record the result in this experiment store (see flock bench history).")
    var store: String?

    @Flag(help: "End with one JSON line.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat: expected 1 to 1000, got \(`repeat`)") }
        guard convolutions == "timed" || ConvolutionKernel(rawValue: convolutions) != nil else {
            throw ValidationError("--convolutions: expected timed, im2col or onednn, got '\(convolutions)'")
        }
        guard TrainBenchModel.descriptions[model] != nil else { throw ValidationError("--model: unknown model '\(model)' (expected: mlp, cnn, transformer, lstm)") }
        guard (1...1024).contains(threads) else { throw ValidationError("--threads: expected 1 to 1024, got \(threads)") }
        guard ["auto", "openblas", "onednn"].contains(matrixKernels) else {
            throw ValidationError("--matrix-kernels: expected auto, openblas or onednn, got '\(matrixKernels)'")
        }
        guard ["float32", "bf16"].contains(precision) else { throw ValidationError("--precision: unknown precision '\(precision)' (expected: float32, bf16)") }
        guard !againstFloat32 || precision == "bf16" else { throw ValidationError("--against-float32: needs --precision bf16") }
    }

    func run() throws {
        let machine = BenchmarkMachine.now(threads: threads)
        let products: MatrixProducts
        do {
            products = try MixedPrecision.resolve(precision == "bf16" ? .bf16 : .float32, threads: threads).0
                .onKernels(matrixKernels, threads: threads)
        } catch {
            throw CommandFailure("\(error)")
        }
        let (result, notes) = TrainBenchModel.run(model, threads: threads, trials: `repeat`, products: products,
                                                   convolutions: ConvolutionKernel(rawValue: convolutions))
        let measuredOn = machine.finished()
        print("model \(TrainBenchModel.descriptions[model]!), SGD momentum, \(result.precision.rawValue) products, \(result.threads) BLAS thread\(result.threads == 1 ? "" : "s"), kernel \(result.kernel)")
        for note in notes { print(note) }
        print(String(format: "step:     %10.0f samples/s", result.samplesPerSecond))
        let ceiling = result.precision == .bf16 ? "oneDNN bf16 matmul" : "Float32 products (\(matrixKernels))"
        print(String(format: "ceiling:  %10.0f samples/s (\(ceiling) at the step's shapes: %.1f GFLOP/s)",
                     result.ceilingSamplesPerSecond, result.ceilingGFLOPS) + " on \(result.kernel)")
        print("ratio:    " + result.ratio.summary + " (median of interleaved pairs, min–max)")
        print(String(format: "outside sgemm: %.3f ms per step", result.overheadMilliseconds))
        var object = result.json
        if againstFloat32 {
            let speedup = try bf16OverFloat32(products)
            print("bf16 ÷ float32: " + speedup.summary + " (the step's samples/s, runs of each interleaved, median, min–max)")
            object.merge(speedup.json("bf16_over_float32")) { $1 }
        }
        if let peer {
            do { print("peer:     " + (try PyTorchPeer(python: peer, model: model, threads: threads, bf16: precision == "bf16").run())) } catch {
                throw CommandFailure("\(error)")
            }
        }
        print(measuredOn.summary)
        object["machine"] = measuredOn.json
        if let store { try BenchmarkHistory.record(object, name: "train_\(model)", storePath: store) }
        if json { try JSONOutput.print(result: object, benchmark: "train_\(model)") }
    }

    /// The bf16 step against the Float32 one (products on `--matrix-kernels`), each run
    /// as `TrainBenchModel.run` with one (ceiling, step) pair, the two alternating, so a
    /// change in the machine's speed falls on both of a pair.
    private func bf16OverFloat32(_ bf16: MatrixProducts) throws -> PairedRatio {
        let float32: MatrixProducts
        // Resolved as `--precision float32` resolves it.
        do { float32 = try MixedPrecision.resolve(.float32, threads: threads).0.onKernels(matrixKernels, threads: threads) } catch {
            throw CommandFailure("\(error)")
        }
        let kernels = ConvolutionKernel(rawValue: convolutions)
        return PairedRatio.measure(pairs: `repeat`, baseline: {
            TrainBenchModel.run(model, threads: threads, trials: 1, products: float32, convolutions: kernels).0.samplesPerSecond
        }, candidate: {
            TrainBenchModel.run(model, threads: threads, trials: 1, products: bf16, convolutions: kernels).0.samplesPerSecond
        })
    }
}

struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Our allreduce vs MPI_Allreduce (sum, Float32, in place), 4 KB to 64 MB. Run under mpirun.")

    @Flag(help: "End with one JSON line.")
    var json = false

    @Option(help: "Message sizes in bytes, comma-separated (default 4 KB to 64 MB by 4x; slow links want fewer).")
    var sizes: String?

    @Option(help: "Our allreduce across hosts as none, bf16 or fp16 (16 bits on the wire, error feedback); busbw still counts 4 bytes per element.")
    var compression = "none"

    @Option(help: "Interleaved (MPI, flock) pairs per size; the ratio is their median, with its spread.")
    var `repeat` = 5

    func validate() throws {
        guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat: expected 1 to 1000, got \(`repeat`)") }
        guard WireCompression(rawValue: compression) != nil else {
            throw ValidationError("--compression: expected one of \(WireCompression.allCases.map(\.rawValue).joined(separator: ", ")), got '\(compression)'")
        }
    }

    func run() throws {
        var benchmark = AllreduceBenchmark()
        benchmark.compression = WireCompression(rawValue: compression) ?? .none
        benchmark.trials = `repeat`
        if let sizes {
            benchmark.sizes = try sizes.split(separator: ",").map { text in
                guard let bytes = Int(text.trimmingCharacters(in: .whitespaces)), bytes >= 4, bytes % 4 == 0 else {
                    throw ValidationError("--sizes: expected byte counts that are positive multiples of 4, got '\(text)'")
                }
                return bytes
            }
        }
        let machine = BenchmarkMachine.now(threads: 1)
        let configured = benchmark
        let (rank, measured) = try JobLauncher(launch: .mpirunRank).collectMPI { comm in
            (rows: try configured.run(comm), size: comm.size, sharedMemory: comm.usesSharedMemory, hosts: comm.hosts,
             hierarchical: comm.usesHierarchy)
        }
        guard rank == 0 else { return }
        let (rows, comm) = (measured.rows, (size: measured.size, usesSharedMemory: measured.sharedMemory,
                                            hosts: measured.hosts, usesHierarchy: measured.hierarchical))
        print("allreduce, \(comm.size) ranks, shared memory \(comm.usesSharedMemory), hosts \(comm.hosts), hierarchical \(comm.usesHierarchy), compression \(compression); bus bandwidth in GB/s (nccl-tests definition)")
        print("ratio: median of \(`repeat`) interleaved (MPI, flock) pairs, min–max")
        print("     bytes      flock        MPI    ratio (min–max)        local     memcpy")
        for row in rows {
            print(String(format: "%10d %10.2f %10.2f %8.2f (%.2f–%.2f) %10.2f %10.2f", row.bytes, row.busBandwidth, row.mpiBusBandwidth,
                         row.ratio.median, row.ratio.minimum, row.ratio.maximum, row.localBusBandwidth, row.memcpyBandwidth))
        }
        let measuredOn = machine.finished()
        print(measuredOn.summary)
        if json {
            let results: [[String: Any]] = rows.map {
                (["bytes": $0.bytes, "busbw_gbps": $0.busBandwidth, "mpi_busbw_gbps": $0.mpiBusBandwidth,
                  "local_busbw_gbps": $0.localBusBandwidth, "memcpy_gbps": $0.memcpyBandwidth] as [String: Any])
                    .merging($0.ratio.json("ratio")) { $1 }
            }
            var object: [String: Any] = ["ranks": comm.size, "results": results, "machine": measuredOn.json,
                                         "hierarchical": comm.usesHierarchy, "compression": compression]
            // cluster/testbed says how many (simulated) hosts the ranks are spread over.
            if let hosts = ProcessInfo.processInfo.environment["FLOCK_TESTBED_HOSTS"].flatMap(Int.init) { object["hosts"] = hosts }
            try JSONOutput.print(result: object, benchmark: "allreduce")
        }
    }
}

struct DataParallelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp",
        abstract: "Data-parallel MLP training vs one rank, in the same job. Run under mpirun (or with --ranks).")

    @Option(help: "Simulate this many ranks as threads instead of running under mpirun.")
    var ranks: Int?

    @Option(name: .customLong("bucket-mb"), help: "Gradient bucket size in MB.")
    var bucketMB = ParallelConfig.defaultBucketMB

    @Flag(inversion: .prefixedNo, help: "Start bucket allreduces during backward.")
    var overlap = true

    @Option(help: "Gradients crossing hosts as none, bf16 or fp16 (16 bits with error feedback; see parallel.compression).")
    var compression = "none"

    @Option(help: "Interleaved (one rank, all ranks) pairs; the efficiency is their median, with its spread. 11 keeps ten back-to-back medians within 0.1 of each other on the 2-core development machine.")
    var `repeat` = 11

    @Option(help: "Also record the result in this experiment store (see flock bench history).")
    var store: String?

    @Flag(help: "End with one JSON line.")
    var json = false

    func validate() throws {
        if let ranks, ranks < 1 { throw ValidationError("--ranks: expected a positive integer, got \(ranks)") }
        if let ranks, ranks > RankLaunch.maximumLocalRanks {
            throw ValidationError("--ranks: at most \(RankLaunch.maximumLocalRanks) ranks run as threads, got \(ranks)")
        }
        guard (1...1000).contains(`repeat`) else { throw ValidationError("--repeat: expected 1 to 1000, got \(`repeat`)") }
        guard bucketMB > 0, bucketMB <= 1_000_000 else { throw ValidationError("--bucket-mb: expected a number in (0, 1000000], got \(bucketMB)") }
        guard WireCompression(rawValue: compression) != nil else {
            throw ValidationError("--compression: expected one of \(WireCompression.allCases.map(\.rawValue).joined(separator: ", ")), got '\(compression)'")
        }
    }

    func run() throws {
        var benchmark = DataParallelBenchmark()
        benchmark.overlap = overlap
        benchmark.compression = WireCompression(rawValue: compression) ?? .none
        benchmark.pairs = `repeat`
        let machine = BenchmarkMachine.now(threads: 1)
        benchmark.bucketBytes = max(1, Int(bucketMB * 1_048_576))
        let result: DataParallelBenchmark.Result
        var hosts = 1, hierarchical = false
        let configured = benchmark
        if let ranks {
            result = try JobLauncher(launch: .localRanks(ranks)).collect { comm in
                guard let comm else { preconditionFailure("local ranks have a communicator") }
                do { return try configured.run(comm) } catch let error as CommunicatorError {
                    throw error
                } catch {
                    // Name the rank; a communicator error already does.
                    throw CommandFailure("rank \(comm.rank): \(error)")
                }
            }.value
        } else {
            let (rank, measured) = try JobLauncher(launch: .mpirunRank).collectMPI { world in
                (result: try configured.run(world), hosts: world.hosts, hierarchical: world.usesHierarchy)
            }
            guard rank == 0 else { return }
            (result, hosts, hierarchical) = (measured.result, measured.hosts, measured.hierarchical)
        }
        print("ddp: mlp 784-512-512-10, batch 128 per rank, \(result.ranks) ranks on \(hosts == 0 ? "several" : "\(hosts)") host\(hosts == 1 ? "" : "s")"
              + "\(hierarchical ? " (hierarchical allreduce)" : ""), 1 BLAS thread each, bucket \(bucketMB) MB, "
              + "overlap \(overlap ? "on" : "off"), compression \(compression)")
        print(String(format: "one rank:    %9.0f samples/s", result.singleRankSamplesPerSecond))
        print(String(format: "%2d ranks:    %9.0f samples/s", result.ranks, result.samplesPerSecond))
        print("efficiency:  " + result.efficiency.summary + " (median of interleaved pairs, min–max)")
        print(machine.finished().summary)
        print(String(format: "allreduce alone %.3f ms/step, still waited after backward %.3f ms: overlap %.2f",
                     result.allreduceMilliseconds, result.exposedMilliseconds, result.overlapFraction))
        let object: [String: Any] = (["ranks": result.ranks, "samples_per_second": result.samplesPerSecond,
                                      "single_rank_samples_per_second": result.singleRankSamplesPerSecond,
                                      "overlap_fraction": result.overlapFraction, "overlap": overlap, "compression": compression,
                                      "hosts": hosts, "hierarchical": hierarchical,
                                      "allreduce_ms": result.allreduceMilliseconds, "exposed_wait_ms": result.exposedMilliseconds,
                                      "machine": machine.finished().json] as [String: Any])
            .merging(result.efficiency.json("efficiency")) { $1 }
        if let store { try BenchmarkHistory.record(object, name: "ddp", storePath: store) }
        if json { try JSONOutput.print(result: object, benchmark: "ddp") }
    }
}

struct PipelineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Pipeline schedules (GPipe, 1F1B, ZB-H1): measured bubble vs theory, activation memory, and samples/s vs data parallelism on the same ranks. One stage per rank: run under mpirun -np S (or with --ranks S).")

    @Option(help: "Simulate this many ranks (stages) as threads instead of running under mpirun.")
    var ranks: Int?

    @Option(help: "Width of the Dense layers.")
    var width = 512

    @Option(name: .customLong("micro-batch-rows"), help: "Samples per micro-batch.")
    var microBatchRows = 128

    @Option(name: .customLong("layers-per-stage"), help: "Dense layers per stage (more compute per transfer).")
    var layersPerStage = PipelineBenchmark().layersPerStage

    @Flag(help: "End with one JSON line.")
    var json = false

    func validate() throws {
        if let ranks, ranks < 2 { throw ValidationError("--ranks: a pipeline needs at least 2 stages, got \(ranks)") }
        guard (1...64).contains(layersPerStage) else { throw ValidationError("--layers-per-stage: expected 1...64, got \(layersPerStage)") }
        if let ranks, ranks > RankLaunch.maximumLocalRanks {
            throw ValidationError("--ranks: at most \(RankLaunch.maximumLocalRanks) ranks run as threads, got \(ranks)")
        }
        guard (1...8192).contains(width) else { throw ValidationError("--width: expected 1...8192, got \(width)") }
        guard (1...65536).contains(microBatchRows) else { throw ValidationError("--micro-batch-rows: expected 1...65536, got \(microBatchRows)") }
    }

    func run() throws {
        var benchmark = PipelineBenchmark()
        benchmark.width = width
        benchmark.microBatchRows = microBatchRows
        benchmark.layersPerStage = layersPerStage
        let machine = BenchmarkMachine.now(threads: 1)
        let report: PipelineBenchmark.Report
        let configured = benchmark
        if let ranks {
            report = try JobLauncher(launch: .localRanks(ranks)).collect { comm in
                guard let comm else { preconditionFailure("local ranks have a communicator") }
                return try configured.run(comm)
            }.value
        } else {
            let (rank, measured) = try JobLauncher(launch: .mpirunRank).collectMPI { world -> PipelineBenchmark.Report? in
                guard world.size >= 2 else { return nil }
                return try configured.run(world)
            }
            guard let measured else { throw CommandFailure("flock bench pipeline: run under mpirun -np S with S ≥ 2 (one stage per rank), or pass --ranks S") }
            guard rank == 0 else { return }
            report = measured
        }
        print("pipeline: \(report.stages) stages × \(benchmark.layersPerStage) dense \(width) layers, micro-batches of \(microBatchRows) samples, 1 BLAS thread per rank")
        print("bubble: idle share of the busiest stage's step time (mean over stages, imbalance included, in brackets)")
        print("theory: F = B = W; sim.: the simulator with each stage's measured F, B, W (the rest of the measured bubble is transfers and overhead)")
        print("schedule  M   bubble measured        theory   sim.   samples/s   vs data parallel (pairs, min–max)   peak activations per stage (MB)")
        for result in report.results {
            let peaks = result.peakActivationBytes.map { String(format: "%.2f", Double($0) / 1_048_576) }.joined(separator: " ")
            let versus = result.versusDataParallel
            print(String(format: "%-8@ %2d   %7.3f (%.3f)  %11.3f  %5.3f  %10.0f   %5.2f (%.2f–%.2f)   ", result.schedule.rawValue as NSString,
                         result.microBatches, result.bubbleMeasured, result.meanIdleShare, result.bubbleTheory,
                         result.bubbleSimulatedFromMeasuredCosts, result.samplesPerSecond,
                         versus.median, versus.minimum, versus.maximum) + peaks)
        }
        for (microBatches, value) in report.dataParallelSamplesPerSecond.sorted(by: { $0.key < $1.key }) {
            print(String(format: "data parallel, batch of M=%d micro-batches: %.0f samples/s", microBatches, value))
        }
        if json {
            let results: [[String: Any]] = report.results.map { result in
                ["schedule": result.schedule.rawValue, "micro_batches": result.microBatches,
                 "bubble_measured": result.bubbleMeasured, "bubble_theory": result.bubbleTheory,
                 "bubble_simulated_from_measured_costs": result.bubbleSimulatedFromMeasuredCosts,
                 "mean_idle_share": result.meanIdleShare,
                 "samples_per_second": result.samplesPerSecond, "peak_activation_bytes": result.peakActivationBytes.max() ?? 0,
                 "peak_activation_bytes_per_stage": result.peakActivationBytes,
                 "micro_batch_activation_bytes": result.microBatchActivationBytes,
                 "data_parallel_samples_per_second": report.dataParallelSamplesPerSecond[result.microBatches] ?? 0]
                    .merging(result.versusDataParallel.json("versus_data_parallel")) { $1 }
            }
            try JSONOutput.print(result: ["stages": report.stages, "results": results, "machine": machine.finished().json], benchmark: "pipeline")
        }
    }
}

struct SamplerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sampler",
        abstract: "GP, TPE and random regret on Branin and Hartmann6 (50 trials, 10 seeds), ms per GP suggestion, and the sweep driver's ms per trial.")

    @Option(help: "Seeds 0..<N to take the median over (10 is the reference figure; more gives a steadier median).")
    var seeds = 10

    @Flag(help: "End with one JSON line.")
    var json = false

    @Option(help: "Only the GP on this function (branin, hartmann6): its regret seed by seed and the median, nothing else.")
    var gpOnly: String?

    @Option(help: "With --gp-only: the first seed (seeds first..<first+N).")
    var firstSeed = 0

    @Option(help: "With --gp-only: trials per run.")
    var trials = 50

    @Option(help: "With --gp-only: simulated concurrent workers.")
    var workers = 1

    func validate() throws {
        guard (1...10_000).contains(seeds) else { throw ValidationError("--seeds: expected 1...10000, got \(seeds)") }
        if let gpOnly, SamplerBenchmark.functions[gpOnly] == nil {
            throw ValidationError("--gp-only: expected branin or hartmann6, got \(gpOnly)")
        }
        guard (1...10_000).contains(trials) else { throw ValidationError("--trials: expected 1...10000, got \(trials)") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers: expected 1...64, got \(workers)") }
        guard firstSeed >= 0 else { throw ValidationError("--first-seed: expected ≥ 0, got \(firstSeed)") }
    }

    func run() throws {
        if let gpOnly {
            var benchmark = SamplerBenchmark()
            benchmark.trials = trials
            let regrets = benchmark.gpRegrets(function: gpOnly, seeds: firstSeed..<(firstSeed + seeds), workers: workers)!
            for (offset, regret) in regrets.enumerated() { print(String(format: "seed %d  %.3g", firstSeed + offset, regret)) }
            let sorted = regrets.sorted(), middle = sorted.count / 2
            let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            print(String(format: "%@ gp median regret %.3g over %d seeds; %d of %d below 0.01", gpOnly, median, regrets.count,
                         regrets.filter { $0 < 0.01 }.count, regrets.count))
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("flock-bench-sampler-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        var benchmark = SamplerBenchmark()
        benchmark.seeds = seeds
        let machine = BenchmarkMachine.now(threads: 1)
        let result = try benchmark.run(storeFolder: folder)
        let measuredOn = machine.finished()
        print("median simple regret after \(benchmark.trials) trials over \(seeds) seeds")
        for (name, regrets) in [("branin", result.branin), ("hartmann6", result.hartmann6)] {
            print(name.padding(toLength: 11, withPad: " ", startingAt: 0)
                  + String(format: "gp %.3g   gp with 4 workers %.3g", regrets.gp, regrets.gpFourWorkers))
        }
        print(String(format: "branin     tpe %.4f   random %.4f   (optimum 0.397887)   random/tpe per seed ", result.branin.tpe,
                     result.branin.random) + result.branin.improvement.summary.replacingOccurrences(of: "pairs", with: "seeds"))
        print(String(format: "hartmann6  tpe %.4f   random %.4f   (optimum -3.32237)   random/tpe per seed ", result.hartmann6.tpe,
                     result.hartmann6.random) + result.hartmann6.improvement.summary.replacingOccurrences(of: "pairs", with: "seeds"))
        print(String(format: "driver overhead: %.2f ms per trial (%.2f–%.2f over 5 runs of %d trials, TPE, SQLite store, objective returns at once)",
                     result.millisecondsPerTrial, result.millisecondsPerTrialRange.lowerBound, result.millisecondsPerTrialRange.upperBound,
                     result.overheadTrials))
        print("one GP suggestion (Hartmann6, median of 5): " + result.gpMillisecondsPerSuggestion.keys.sorted().map {
            String(format: "%.0f ms after %d trials", result.gpMillisecondsPerSuggestion[$0]!, $0)
        }.joined(separator: ", "))
        print(measuredOn.summary)
        if json {
            let object: [String: Any] = [
                "branin": (["gp_median_regret": result.branin.gp, "gp_4_workers_median_regret": result.branin.gpFourWorkers,
                            "tpe_median_regret": result.branin.tpe, "random_median_regret": result.branin.random] as [String: Any])
                    .merging(result.branin.improvement.json("improvement")) { $1 },
                "hartmann6": (["gp_median_regret": result.hartmann6.gp, "gp_4_workers_median_regret": result.hartmann6.gpFourWorkers,
                               "tpe_median_regret": result.hartmann6.tpe, "random_median_regret": result.hartmann6.random] as [String: Any])
                    .merging(result.hartmann6.improvement.json("improvement")) { $1 },
                "gp_ms_per_suggestion": Dictionary(uniqueKeysWithValues: result.gpMillisecondsPerSuggestion.map { ("\($0.key)_trials", $0.value) }),
                "ms_per_trial": result.millisecondsPerTrial,
                "ms_per_trial_min": result.millisecondsPerTrialRange.lowerBound,
                "ms_per_trial_max": result.millisecondsPerTrialRange.upperBound,
                "machine": measuredOn.json,
            ]
            try JSONOutput.print(result: object, benchmark: "sampler")
        }
    }
}

extension MatrixProducts {
    /// Float32 products on `kernels` (auto, openblas, onednn) as training runs them; bf16 as it is.
    func onKernels(_ kernels: String, threads: Int) throws -> MatrixProducts {
        guard case .float32 = self, kernels != "openblas" else { return self }
        return .float32PerShape(try Float32MatrixProducts(threads: threads, rule: kernels == "onednn" ? .onednn : .bySize))
    }
}
