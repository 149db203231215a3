import FlockStore
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// CPUs to stand in for the real one (`FLOCK_CPUINFO`), as Linux writes `/proc/cpuinfo`.
enum StandInCPU {
    static let avx2 = """
        processor\t: 0
        model name\t: Stand-in AVX2 CPU
        flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma

        """
    static let avx512 = """
        processor\t: 0
        model name\t: Stand-in AVX-512 CPU
        flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16

        """
}

/// The decision alone: which cores to try, when to leave OpenBLAS alone.
@Suite struct BLASCorePlanTests {
    let avx512 = CPUInfo.parse(StandInCPU.avx512, cores: 2)
    let avx2 = CPUInfo.parse(StandInCPU.avx2, cores: 2)

    @Test func cpuinfoGivesModelFeaturesAndLevel() {
        #expect(avx2.model == "Stand-in AVX2 CPU")
        #expect(avx2.features == ["avx", "avx2", "fma", "sse", "sse2", "sse4_1", "sse4_2", "ssse3"])
        #expect(avx2.vectorLevel == .avx2)
        #expect(avx512.vectorLevel == .avx512)
        #expect(CPUInfo.parse("flags : sse sse2 avx\n", cores: 1).vectorLevel == .avx)
        #expect(CPUInfo.parse("", cores: 1).vectorLevel == .sse)
    }

    @Test func aCoreThatMatchesTheCPUIsKept() {
        #expect(BLASCorePlan.make(environment: [:], libraryCore: "Cooperlake", cpu: avx512) == .keep(.library, reason: "OpenBLAS detected Cooperlake, which matches the CPU (AVX-512)"))
        #expect(BLASCorePlan.make(environment: [:], libraryCore: "Haswell", cpu: avx2) == .keep(.library, reason: "OpenBLAS detected Haswell, which matches the CPU (AVX2)"))
        #expect(BLASCorePlan.make(environment: [:], libraryCore: "Zen", cpu: avx2) == .keep(.library, reason: "OpenBLAS detected Zen, which matches the CPU (AVX2)"))
    }

    @Test func aFallbackListsTheBetterCoresBestFirst() {
        #expect(BLASCorePlan.make(environment: [:], libraryCore: "Prescott", cpu: avx512)
                == .tryCores(["SkylakeX", "Cooperlake", "Haswell", "Zen", "Sandybridge"], libraryCore: "Prescott"))
        #expect(BLASCorePlan.make(environment: [:], libraryCore: "Haswell", cpu: avx512) == .tryCores(["SkylakeX", "Cooperlake"], libraryCore: "Haswell"))
        #expect(BLASCorePlan.make(environment: [:], libraryCore: "Sandybridge", cpu: avx2) == .tryCores(["Haswell", "Zen"], libraryCore: "Sandybridge"))
    }

    @Test func aUserCoreIsKeptEvenWhenSlow() {
        #expect(BLASCorePlan.make(environment: ["OPENBLAS_CORETYPE": "Prescott"], libraryCore: "Prescott", cpu: avx512)
                == .keep(.user, reason: "OPENBLAS_CORETYPE is set"))
    }

    @Test func aProcessFlockAlreadyChoseForIsNotChosenAgain() {
        let environment = ["OPENBLAS_CORETYPE": "SkylakeX", BLASCorePlan.markerVariable: "selected Prescott"]
        #expect(BLASCorePlan.make(environment: environment, libraryCore: "SkylakeX", cpu: avx512) == .keep(.selected, reason: "selected Prescott"))
    }

    @Test func threadsAreDividedAmongTheRanksOfANode() {
        #expect(BLASThreads.perRank(cores: 8, ranksOnNode: 1, environment: [:]) == 8)
        #expect(BLASThreads.perRank(cores: 8, ranksOnNode: 3, environment: [:]) == 2)
        #expect(BLASThreads.perRank(cores: 2, ranksOnNode: 4, environment: [:]) == 1)
        #expect(BLASThreads.perRank(cores: 8, ranksOnNode: 2, environment: ["OPENBLAS_NUM_THREADS": "3"]) == nil)
        #expect(BLASThreads.perRank(cores: 8, ranksOnNode: 2, environment: ["OMP_NUM_THREADS": "3"]) == nil)
    }

    @Test func theSelfCheckPassesTheLoadedKernelAndCatchesAWrongProduct() {
        let good = BLASSelfCheck().run()
        #expect(good.passed, "max relative error \(good.maxRelativeError)")
        #expect(good.maxRelativeError < 1e-5)
        let wrong = BLASSelfCheck().run(corrupt: true)
        #expect(!wrong.passed)
        #expect(wrong.maxRelativeError > 1e-3)
    }
}

/// The choice in real `flock` processes: self-check children, re-exec, the cache, mpirun.
/// Each test has its own cache folder, so every self-check really runs.
@Suite(.serialized) struct BLASCoreSelectionTests {
    /// `flock ARGUMENTS` with `unset` removed from its environment.
    func flock(_ arguments: [String], environment: [String: String], unset: [String] = [],
               timeout: TimeInterval = 180) throws -> ChildProcess.Outcome {
        try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                             unset.flatMap { ["-u", $0] } + [ChildProcess.flockExecutable.path] + arguments,
                             timeout: timeout, environment: environment)
    }

    /// (core, chosen_by) from each `blas:` line.
    func choices(_ output: String) -> [(core: String, source: String)] {
        output.split(separator: "\n").filter { $0.hasPrefix("blas: ") }.compactMap { line in
            guard let range = line.range(of: ", core ") else { return nil }
            let rest = line[range.upperBound...].split(separator: " ", maxSplits: 1)
            guard rest.count == 2 else { return nil }
            return (String(rest[0]), String(rest[1].dropFirst().prefix { $0 != ":" }))
        }
    }

    func verdicts(in cache: URL) throws -> [BLASCoreVerdicts.Verdict] {
        let folder = cache.appendingPathComponent("flock")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }
        return try files.flatMap { try JSONDecoder().decode(BLASCoreVerdicts.self, from: Data(contentsOf: folder.appendingPathComponent($0))).verdicts }
    }

    @Test func aCoreThatMatchesTheCPUChangesNothing() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let cpu = try folder.write("cpuinfo", StandInCPU.avx2)
        // OpenBLAS "detected" Haswell on an AVX2 CPU: nothing to improve, nothing checked.
        let outcome = try flock(["_blas-selfcheck"], environment: [
            "OPENBLAS_CORETYPE": "Haswell", BLASCorePlan.stagedFallbackVariable: "1",
            "FLOCK_CPUINFO": cpu.path, "XDG_CACHE_HOME": folder.url.path])
        #expect(outcome.status == 0, "\(outcome.output)")
        let found = choices(outcome.standardOutput)
        #expect(found.count == 1 && found[0].core == "Haswell" && found[0].source == "library", "\(outcome.output)")
        #expect(try verdicts(in: folder.url).isEmpty)
    }

    @Test func aUserCoreIsKeptEvenASlowOne() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        let config = ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-mlp.yaml").path
        let outcome = try flock(["train", config, "--set", "epochs=1", "--run-dir", run.path],
                                environment: ["OPENBLAS_CORETYPE": "Prescott", "XDG_CACHE_HOME": folder.url.path])
        #expect(outcome.status == 0, "\(outcome.output)")
        let found = choices(outcome.standardOutput)
        #expect(found.count == 1 && found[0].core == "Prescott" && found[0].source == "user", "\(outcome.output)")
        let summary = try RunResults(directory: run).summary()
        #expect(summary.blas?.core == "Prescott")
        #expect(summary.blas?.chosenBy == .user)
        #expect(try verdicts(in: folder.url).isEmpty)
        // The store holds the same record.
        let stored = try ExperimentStore(path: folder.url.appendingPathComponent("flock.sqlite").path).blas(runID: run.standardizedFileURL.path)
        #expect(stored.map { try? JSONDecoder().decode(BLASChoice.self, from: Data($0.utf8)) } == summary.blas)
    }

    @Test(.enabled(if: CPUInfo.current(environment: [:]).vectorLevel >= .avx2, "needs AVX2 hardware"))
    func aFallbackIsReplacedByTheBestCoreThatPassesAndAWrongKernelIsRejected() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let cpu = try folder.write("cpuinfo", StandInCPU.avx2)
        let staged = ["OPENBLAS_CORETYPE": "Prescott", BLASCorePlan.stagedFallbackVariable: "1", "FLOCK_CPUINFO": cpu.path]

        let cleanCache = folder.url.appendingPathComponent("clean")
        let clean = try flock(["_blas-selfcheck"], environment: staged.merging(["XDG_CACHE_HOME": cleanCache.path]) { $1 })
        #expect(clean.status == 0, "\(clean.output)")
        #expect(choices(clean.standardOutput).map(\.core) == ["Haswell"], "\(clean.output)")
        #expect(choices(clean.standardOutput).map(\.source) == ["selected"])
        #expect(try verdicts(in: cleanCache).map(\.core) == ["Haswell"])

        // Haswell's product made wrong and Zen crashing: both rejected, the next core taken.
        let brokenCache = folder.url.appendingPathComponent("broken")
        let broken = try flock(["_blas-selfcheck"], environment: staged.merging([
            "XDG_CACHE_HOME": brokenCache.path, BLASCoreSelection.wrongCoreVariable: "Haswell",
            BLASCoreSelection.crashingCoreVariable: "Zen"]) { $1 })
        #expect(broken.status == 0, "\(broken.output)")
        #expect(choices(broken.standardOutput).map(\.core) == ["Sandybridge"], "\(broken.output)")
        let checked = try verdicts(in: brokenCache)
        #expect(checked.map(\.core) == ["Haswell", "Zen", "Sandybridge"])
        #expect(checked.map(\.passed) == [false, false, true])
        let reasons = ["wrong product: ", "the check crashed (killed by a signal)", "max relative error "]
        #expect(checked.count == 3 && zip(checked, reasons).allSatisfy { $0.reason.hasPrefix($1) }, "\(checked)")
    }

    @Test(.enabled(if: CPUInfo.current(environment: [:]).vectorLevel >= .avx2, "needs AVX2 hardware"))
    func mpirunRanksRunTheCoreASingleProcessChooses() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let cpu = try folder.write("cpuinfo", StandInCPU.avx2)
        let staged = ["OPENBLAS_CORETYPE": "Prescott", BLASCorePlan.stagedFallbackVariable: "1", "FLOCK_CPUINFO": cpu.path,
                      "XDG_CACHE_HOME": folder.url.path]
        let single = try flock(["_blas-selfcheck"], environment: staged)
        #expect(single.status == 0, "\(single.output)")
        let singleCore = choices(single.standardOutput).map(\.core)
        #expect(singleCore.count == 1 && singleCore[0] != "Prescott", "\(single.output)")

        // Fresh cache: the ranks race for the check, and each re-executes before MPI starts.
        let mpiCache = folder.url.appendingPathComponent("mpi")
        let config = try folder.write("ddp.yaml", """
            seed: 5
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 48}
            model: [{type: dense, units: 16, activation: tanh}, {type: dense, units: 10}]
            """)
        let ranks = try ChildProcess.mpirun(["-np", "2", ChildProcess.flockExecutable.path, "_blas-selfcheck"],
                                            environment: staged.merging(["XDG_CACHE_HOME": mpiCache.path]) { $1 })
        #expect(!ranks.timedOut && ranks.status == 0, "\(ranks.output)")
        let found = choices(ranks.standardOutput)
        #expect(found.count == 2 && found.allSatisfy { $0.core == singleCore.first && $0.source == "selected" }, "\(ranks.output)")

        // A training job's ranks: MPI starts after the re-exec; rank 0 records the core.
        let run = folder.url.appendingPathComponent("run")
        let training = try ChildProcess.mpirun(["-np", "2", ChildProcess.flockExecutable.path, "train", config.path, "--run-dir", run.path],
                                               environment: staged.merging(["XDG_CACHE_HOME": mpiCache.path]) { $1 })
        #expect(!training.timedOut && training.status == 0, "\(training.output)")
        #expect(choices(training.standardOutput).map(\.core) == singleCore, "\(training.output)")
        #expect(try RunResults(directory: run).summary().blas?.core == singleCore.first)
    }
}
