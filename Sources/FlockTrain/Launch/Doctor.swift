import FlockComm
import FlockStore
import FlockTensor
import Foundation

/// What `flock doctor` finds: the CPU and its vector features, the BLAS library and the
/// core it runs, oneDNN and whether bf16 products run natively and pass their self-check,
/// the MPI library and whether `mpirun` works here, SQLite; and each
/// problem with its fix.
public struct DoctorReport: Codable, Sendable {
    public struct CPU: Codable, Sendable {
        public var model: String
        public var cores: Int
        public var features: [String]
        public var vectorLevel: String

        enum CodingKeys: String, CodingKey {
            case model, cores, features
            case vectorLevel = "vector_level"
        }
    }

    public struct BLASReport: Codable, Sendable {
        public var choice: BLASChoice
        /// OpenBLAS's build string.
        public var config: String
        /// The vector level of the core it runs.
        public var coreVectorLevel: String
        /// Self-check verdicts of better cores, when OpenBLAS fell below the CPU.
        public var checked: [BLASCoreVerdicts.Verdict]

        enum CodingKeys: String, CodingKey {
            case choice, config, checked
            case coreVectorLevel = "core_vector_level"
        }
    }

    public struct MPIReport: Codable, Sendable {
        public var library: String
        /// Whether a 2-rank allreduce under mpirun worked, and what it printed when not.
        public var mpirunWorks: Bool
        public var mpirunDetail: String

        enum CodingKeys: String, CodingKey {
            case library
            case mpirunWorks = "mpirun_works"
            case mpirunDetail = "mpirun_detail"
        }
    }

    public struct Problem: Codable, Sendable, Equatable {
        public var problem: String
        public var fix: String
    }

    public var cpu: CPU
    public var blas: BLASReport
    public var mpi: MPIReport
    public var sqlite: String
    /// oneDNN, its instruction set, and what `precision: auto` picks here.
    public var precision: PrecisionRecord
    public var problems: [Problem]
}

/// Examines this machine. `probe` is the command that runs `MPIProbe.run()` as an MPI
/// program (for the CLI: `flock _mpi-probe`); it is started as `mpirun -np 2 probe…`.
public struct Doctor: Sendable {
    public var probe: [String]
    /// How long the 2-rank mpirun job may take before it counts as hung.
    public var mpirunTimeout: TimeInterval = 60

    public init(probe: [String]) { self.probe = probe }

    public func examine(environment: [String: String] = ProcessInfo.processInfo.environment) -> DoctorReport {
        let cpu = CPUInfo.current(environment: environment)
        var problems: [DoctorReport.Problem] = []
        let (blas, blasProblems) = examineBLAS(cpu: cpu, environment: environment)
        problems += blasProblems
        let precision = (try? MixedPrecision.resolve(.auto, threads: 1).1) ?? PrecisionRecord(configured: .auto)
        if cpu.features.contains("avx512_bf16") && !precision.nativeBF16 {
            problems.append(.init(problem: "the CPU has avx512_bf16 but \(precision.library) runs \(precision.isa)",
                                  fix: "unset ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA so precision: auto can use bf16"))
        }
        let (works, detail) = mpirunWorks(environment: environment)
        if !works {
            problems.append(.init(problem: "mpirun -np 2 did not run a 2-rank allreduce: \(detail)",
                                  fix: "install OpenMPI (apt install openmpi-bin libopenmpi-dev); as root export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; with fewer cores than ranks pass --oversubscribe"))
        }
        let report = DoctorReport(
            cpu: .init(model: cpu.model, cores: cpu.cores, features: cpu.features, vectorLevel: cpu.vectorLevel.description),
            blas: blas,
            mpi: .init(library: MPIEnvironment.libraryVersion, mpirunWorks: works, mpirunDetail: detail),
            sqlite: ExperimentStore.sqliteVersion,
            precision: precision,
            problems: problems)
        return report
    }

    private func examineBLAS(cpu: CPUInfo, environment: [String: String]) -> (DoctorReport.BLASReport, [DoctorReport.Problem]) {
        let choice = BLASChoice.current(environment: environment)
        let coreLevel = BLASCorePlan.level(ofCore: choice.core)
        var problems: [DoctorReport.Problem] = []
        var checked: [BLASCoreVerdicts.Verdict] = []
        if coreLevel < cpu.vectorLevel {
            let better = BLASCorePlan.make(environment: [:], libraryCore: choice.core, cpu: cpu)
            if case .tryCores(let candidates, _) = better {
                checked = BLASCoreSelection.checkedVerdicts(candidates: candidates, cpu: cpu, environment: environment).verdicts
            }
            let passing = checked.first { $0.passed }?.core
            switch choice.chosenBy {
            case .user:
                problems.append(.init(problem: "OPENBLAS_CORETYPE=\(choice.core) uses \(coreLevel) kernels but the CPU has \(cpu.vectorLevel)",
                                      fix: passing.map { "unset OPENBLAS_CORETYPE to let Flock choose (\($0) passes the self-check here)" }
                                          ?? "unset OPENBLAS_CORETYPE, or keep it if faster kernels misbehave on this CPU"))
            case .library, .selected:
                problems.append(.init(problem: "OpenBLAS runs \(choice.core) (\(coreLevel)) below the CPU's \(cpu.vectorLevel) and no better core passed the self-check",
                                      fix: "install a newer OpenBLAS that knows this CPU"))
            }
        }
        let threadsSet = BLASThreads.userVariables.first { environment[$0] != nil }
        if let threadsSet, choice.threads > cpu.cores {
            problems.append(.init(problem: "\(threadsSet) gives \(choice.threads) BLAS threads on \(cpu.cores) cores",
                                  fix: "unset \(threadsSet): Flock then divides the cores among the ranks"))
        }
        if choice.core == "unknown" {
            problems.append(.init(problem: "the BLAS library does not report its core (not OpenBLAS?)",
                                  fix: "install OpenBLAS (apt install libopenblas-dev)"))
        }
        let report = DoctorReport.BLASReport(choice: choice, config: BLASKernel.configuration,
                                             coreVectorLevel: coreLevel.description, checked: checked)
        return (report, problems)
    }

    private func mpirunWorks(environment: [String: String]) -> (Bool, String) {
        // As the user's own mpirun runs: root needs OMPI_ALLOW_RUN_AS_ROOT (the fix says so).
        var mpirun = MPIRunCommand(ranks: 2)
        mpirun.asRoot = false
        let outcome = TimedChild.run(URL(fileURLWithPath: "/usr/bin/env"), mpirun.words(running: probe[0], Array(probe.dropFirst())),
                                     environment: environment, timeout: mpirunTimeout)
        let tail = outcome.output.split(separator: "\n").suffix(3).joined(separator: " | ")
        if let failure = outcome.startFailure { return (false, "could not start mpirun: \(failure)") }
        if outcome.timedOut { return (false, "hung for \(Int(mpirunTimeout)) s") }
        guard outcome.succeeded, outcome.output.components(separatedBy: "ok 2").count == 3 else {
            return (false, "exit status \(outcome.status.map(String.init) ?? "signal"): \(tail)")
        }
        return (true, "2 ranks allreduced")
    }
}
