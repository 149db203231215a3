import ArgumentParser
import Flock
import Foundation

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this machine: CPU, BLAS kernel and threads, oneDNN and bf16, MPI and mpirun, SQLite; each problem with its fix.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let report = Doctor(probe: [executable, "_mpi-probe"]).examine()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("cpu:     \(report.cpu.model), \(report.cpu.cores) cores, \(report.cpu.vectorLevel) (\(report.cpu.features.joined(separator: " ")))")
        print("blas:    \(report.blas.config)")
        print("core:    \(report.blas.choice.core) (\(report.blas.coreVectorLevel)), \(report.blas.choice.chosenBy.rawValue): \(report.blas.choice.detail)")
        for verdict in report.blas.checked {
            print("         self-check \(verdict.core): \(verdict.passed ? "passed" : "rejected"), \(verdict.reason)")
        }
        print("threads: \(report.blas.choice.threads)")
        let precision = report.precision
        let check = precision.selfCheckError.map { ", bf16 self-check max relative error \(String(format: "%.1e", $0))" } ?? ""
        print("onednn:  \(precision.library), \(precision.isa), native bf16 \(precision.nativeBF16 ? "yes" : "no")\(check)")
        print("precision: auto picks \(precision.used.rawValue) (\(precision.detail))")
        print("mpi:     \(report.mpi.library.split(separator: "\n").first ?? "")")
        print("mpirun:  \(report.mpi.mpirunWorks ? "works" : "fails"): \(report.mpi.mpirunDetail)")
        print("sqlite:  \(report.sqlite)")
        if report.problems.isEmpty { print("no problems found") }
        for problem in report.problems {
            print("problem: \(problem.problem)")
            print("  fix:   \(problem.fix)")
        }
    }
}

/// One rank of the 2-rank job `flock doctor` starts under mpirun.
struct MPIProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_mpi-probe", shouldDisplay: false)

    func run() throws {
        do { print(try MPIProbe.run()) } catch { throw CommandFailure("\(error)") }
    }
}

/// The core this process runs after Flock's choice (one `blas:` line, also per rank under
/// mpirun) and the self-check on it; set OPENBLAS_CORETYPE to check another core.
struct BLASSelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_blas-selfcheck", shouldDisplay: false)

    func run() throws {
        print(BLASChoice.current())
        let corrupt = ProcessInfo.processInfo.environment[BLASCoreSelection.wrongCoreVariable]?.lowercased() == BLASKernel.coreName.lowercased()
        let result = BLASSelfCheck().run(corrupt: corrupt)
        print("core \(result.core): \(result.passed ? "passed" : "failed"), max relative error \(String(format: "%.2e", result.maxRelativeError))")
    }
}
