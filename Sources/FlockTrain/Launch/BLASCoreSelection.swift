import FlockTensor
import Foundation

/// Runs the fastest correct OpenBLAS core in this process: call `prepareProcess()` first
/// thing in `main`, before MPI starts and before any thread does.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` only when it loads, so a better core is applied by
/// re-executing this program (`/proc/self/exe`, same arguments) with the variable set, plus
/// a marker (`FLOCK_BLAS_CHOICE`) that stops the new image from choosing again and that
/// child processes (sweep trials, local `mpirun` ranks) inherit. A candidate core is
/// accepted only if a child process running on it passes `BLASSelfCheck`; one that computes
/// wrong products, crashes or is unknown to OpenBLAS is rejected.
public enum BLASCoreSelection {
    /// In a child: run the self-check on the loaded core, print its result as JSON, exit.
    public static let selfCheckVariable = "FLOCK_BLAS_SELFCHECK"
    /// Test hook: the self-check reports a wrong product when it runs on this core.
    public static let wrongCoreVariable = "FLOCK_TEST_BLAS_WRONG_CORE"
    /// Test hook: the self-check crashes (SIGABRT) when it runs on this core.
    public static let crashingCoreVariable = "FLOCK_TEST_BLAS_CRASHING_CORE"
    /// How long a self-check child may take before it counts as hung.
    public static let childTimeout: TimeInterval = 120

    /// Does what the plan says; returns only if this process keeps its core (otherwise the
    /// re-executed image returns from its own call). Also answers self-check children.
    public static func prepareProcess(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if environment[selfCheckVariable] != nil { answerSelfCheck(environment: environment) }
        let cpu = CPUInfo.current(environment: environment)
        let libraryCore = BLASKernel.coreName
        guard case .tryCores(let candidates, _) = BLASCorePlan.make(environment: environment, libraryCore: libraryCore, cpu: cpu) else {
            return
        }
        let verdicts = checkedVerdicts(candidates: candidates, cpu: cpu, environment: environment)
        guard let chosen = verdicts.chosen else {
            let rejected = verdicts.verdicts.map { "\($0.core): \($0.reason)" }.joined(separator: "; ")
            setenv(BLASCorePlan.markerVariable, "library OpenBLAS detected \(libraryCore); no better core passed the self-check (\(rejected))", 1)
            return
        }
        var next = environment
        next["OPENBLAS_CORETYPE"] = chosen
        next[BLASCorePlan.markerVariable] = "selected \(libraryCore)"
        next[BLASCorePlan.stagedFallbackVariable] = nil
        reexecute(environment: next)
        // exec failed: carry on with the loaded core.
        setenv(BLASCorePlan.markerVariable, "library OpenBLAS detected \(libraryCore); re-executing with \(chosen) failed", 1)
    }

    /// The verdicts for these candidates on this CPU and build, from the cache or fresh.
    public static func checkedVerdicts(candidates: [String], cpu: CPUInfo, environment: [String: String]) -> BLASCoreVerdicts {
        let key = ([cpu.model, cpu.features.joined(separator: " "), BLASKernel.configuration, candidates.joined(separator: ",")]
                   + [wrongCoreVariable, crashingCoreVariable].compactMap { name in environment[name].map { "\(name)=\($0)" } })
            .joined(separator: " | ")
        return BLASCoreVerdicts.cached(key: key, environment: environment) {
            var verdicts: [BLASCoreVerdicts.Verdict] = []
            for core in candidates {
                let verdict = selfCheck(core: core, environment: environment)
                verdicts.append(verdict)
                if verdict.passed { break }  // best first: the rest need no check
            }
            return verdicts
        }
    }

    /// Runs this program again as a self-check child on `core`.
    public static func selfCheck(core: String, environment: [String: String]) -> BLASCoreVerdicts.Verdict {
        var childEnvironment = environment
        childEnvironment["OPENBLAS_CORETYPE"] = core
        childEnvironment[selfCheckVariable] = "1"
        childEnvironment["OPENBLAS_NUM_THREADS"] = "1"
        let outcome = TimedChild.run(URL(fileURLWithPath: "/proc/self/exe"), Array(CommandLine.arguments.dropFirst()),
                                     environment: childEnvironment, timeout: childTimeout)
        if let failure = outcome.startFailure {
            return .init(core: core, passed: false, reason: "could not start the check: \(failure)")
        }
        if outcome.timedOut {
            return .init(core: core, passed: false, reason: "the check hung for \(Int(childTimeout)) s")
        }
        guard let status = outcome.status, status == 0 else {
            return .init(core: core, passed: false, reason: "the check crashed (\(outcome.status.map { "status \($0)" } ?? "killed by a signal"))")
        }
        let text = outcome.output
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let result = try? JSONDecoder().decode(BLASSelfCheck.Result.self, from: Data(line.utf8)) else {
            return .init(core: core, passed: false, reason: "the check printed no result")
        }
        guard result.core.lowercased() == core.lowercased() else {
            return .init(core: core, passed: false, reason: "OpenBLAS ran \(result.core) instead (core unknown to this build)")
        }
        let error = String(format: "%.1e", result.maxRelativeError)
        return .init(core: core, passed: result.passed,
                     reason: result.passed ? "max relative error \(error)" : "wrong product: max relative error \(error)")
    }

    private static func answerSelfCheck(environment: [String: String]) -> Never {
        let core = BLASKernel.coreName.lowercased()
        if environment[crashingCoreVariable]?.lowercased() == core { abort() }
        let corrupt = environment[wrongCoreVariable]?.lowercased() == core
        let result = BLASSelfCheck().run(corrupt: corrupt)
        if var line = try? JSONEncoder().encode(result) {
            line.append(UInt8(ascii: "\n"))
            FileHandle.standardOutput.write(line)
        }
        exit(0)
    }

    private static func reexecute(environment: [String: String]) {
        fflush(nil)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve("/proc/self/exe", arguments, variables)
        for pointer in arguments + variables { free(pointer) }
    }
}
