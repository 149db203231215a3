import Foundation

/// A `flock train` job to start as a child process (a sweep's trial): what to train and
/// where, and how (plain process or `mpirun -np K`). `invocation()` turns it into the
/// executable, arguments and environment to start.
///
/// The option names are the CLI's own (`TrainProcess.Option`), shared with its parser.
///
/// ```swift
/// var job = TrainProcess(executable: flock, configPath: "base.yaml")
/// job.runDirectory = "runs/trial-3"
/// job.overrides = ["optimizer.lr=0.01"]
/// let command = job.invocation()
/// ```
public struct TrainProcess: Sendable, Equatable {
    /// The `flock train` option names.
    public enum Option {
        public static let set = "set"
        public static let runDirectory = "run-dir"
        public static let store = "store"
        public static let resume = "resume"
        public static let ranks = "ranks"
        public static let exitWithPID = "exit-with-pid"
        public static let np = "np"
        public static let maxRestarts = "max-restarts"
        public static let hostfile = "hostfile"
    }

    /// The `flock` executable.
    public var executable: URL
    public var configPath: String
    public var runDirectory: String?
    public var storePath: String?
    /// `key.path=value` config overrides.
    public var overrides: [String] = []
    /// Continue the run in `runDirectory` from its last checkpoint.
    public var resume = false
    /// nil: a plain process; K: `mpirun -np K`.
    public var mpirunRanks: Int?
    /// With `mpirunRanks`: `flock train --np K --max-restarts N` supervises the mpirun job
    /// itself (relaunching on a lost rank) instead of running under mpirun.
    public var supervisedMaxRestarts: Int?
    /// The job exits when this process is gone (its driver).
    public var parentPID: Int32?
    /// `OPENBLAS_NUM_THREADS` for the job when the environment does not set it.
    public var defaultBLASThreads: Int? = 1

    public init(executable: URL, configPath: String) {
        self.executable = executable
        self.configPath = configPath
    }

    /// What to start.
    public struct Invocation: Sendable, Equatable {
        public var executable: URL
        public var arguments: [String]
        public var environment: [String: String]
    }

    /// The command line and environment (`base` plus the BLAS thread default). The BLAS
    /// core choice travels in `base` (`OPENBLAS_CORETYPE`, `FLOCK_BLAS_CHOICE`) when this
    /// process made one, so trials do not choose again.
    public func invocation(base: [String: String] = ProcessInfo.processInfo.environment) -> Invocation {
        var arguments = ["train", configPath]
        if let runDirectory { arguments += ["--\(Option.runDirectory)", runDirectory] }
        if let storePath { arguments += ["--\(Option.store)", storePath] }
        if let parentPID { arguments += ["--\(Option.exitWithPID)", "\(parentPID)"] }
        for override in overrides { arguments += ["--\(Option.set)", override] }
        if resume { arguments.append("--\(Option.resume)") }
        var environment = base
        if let defaultBLASThreads, environment["OPENBLAS_NUM_THREADS"] == nil {
            environment["OPENBLAS_NUM_THREADS"] = "\(defaultBLASThreads)"
        }
        guard let ranks = mpirunRanks else {
            return Invocation(executable: executable, arguments: arguments, environment: environment)
        }
        if let restarts = supervisedMaxRestarts {
            arguments += ["--\(Option.np)", "\(ranks)", "--\(Option.maxRestarts)", "\(restarts)"]
            return Invocation(executable: executable, arguments: arguments, environment: environment)
        }
        var mpirun = MPIRunCommand(ranks: ranks)
        mpirun.asRoot = true
        return Invocation(executable: URL(fileURLWithPath: "/usr/bin/env"),
                          arguments: mpirun.words(running: executable.path, arguments), environment: environment)
    }

    /// A `Process` ready to run.
    public func process(base: [String: String] = ProcessInfo.processInfo.environment) -> Process {
        let command = invocation(base: base)
        let process = Process()
        process.executableURL = command.executable
        process.arguments = command.arguments
        process.environment = command.environment
        return process
    }
}
