import FlockTestSupport
import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

/// The BLAS core a sweep's driver chooses reaches every trial process it launches.
@Suite struct SweepBLASCoreTests {
    @Test(.enabled(if: CPUInfo.current(environment: [:]).vectorLevel >= .avx2, "needs AVX2 hardware"))
    func subprocessTrialsRunTheDriversCore() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let cpu = try folder.write("cpuinfo", """
            model name\t: Stand-in AVX2 CPU
            flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma

            """)
        let sweep = try folder.write("sweep.yaml", """
            study: blas
            base_config:
              seed: 2
              epochs: 1
              data: {source: \(DriverTests.digits), label_column: label, batch_size: 64}
              model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
            space:
              - {name: optimizer.lr, type: float, low: 0.001, high: 0.05, log: true}
            objective: {metric: val_accuracy, direction: maximize}
            budget: {trials: 2}
            sampler: {name: random}
            launcher: subprocess
            """)
        let study = folder.url.appendingPathComponent("study")
        // OpenBLAS "fell back" to Prescott on an AVX2 CPU: the driver picks a better core.
        let outcome = try ChildProcess.flock(["sweep", sweep.path, "--dir", study.path], timeout: 240, environment: [
            "OPENBLAS_CORETYPE": "Prescott", BLASCorePlan.stagedFallbackVariable: "1", "FLOCK_CPUINFO": cpu.path,
            "XDG_CACHE_HOME": folder.url.appendingPathComponent("cache").path])
        #expect(outcome.status == 0, "\(outcome.output)")
        let runs = ["0000", "0001"].map { study.appendingPathComponent("trials/\($0)") }
        let recorded = try runs.map { try RunResults(directory: $0).summary().blas }
        #expect(recorded.count == 2)
        #expect(recorded.allSatisfy { $0?.chosenBy == .selected && $0?.core == "Haswell" }, "\(recorded)")
    }
}
