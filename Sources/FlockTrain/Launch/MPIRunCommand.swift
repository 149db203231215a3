import Foundation

/// The one place that writes an `mpirun` command line: `flock train` trials as `mpirun`
/// jobs, the ranks of a Slurm batch job, and `flock bench all`'s distributed benchmarks all
/// start their ranks through it.
///
/// ```swift
/// MPIRunCommand(ranks: 2).words(running: "/usr/bin/flock", ["train", "c.yaml"])
/// // mpirun --oversubscribe --allow-run-as-root -np 2 /usr/bin/flock train c.yaml   (as root)
/// ```
public struct MPIRunCommand: Sendable, Equatable {
    public var ranks: Int
    /// More ranks than cores (2-core machines, tests).
    public var oversubscribe = true
    /// OpenMPI refuses root unless told.
    public var asRoot = getuid() == 0
    /// Inside a Slurm allocation: mpirun reads the nodes and tasks from Slurm and starts
    /// remote ranks through srun; ranks are not bound to cores and get the job's
    /// `OPENBLAS_NUM_THREADS`.
    public var insideSlurmAllocation = false
    /// The hosts and their slots (`--hostfile`); nil: this machine or the Slurm allocation.
    public var hostfile: String? = nil
    /// Environment variables passed on to every rank (`-x NAME`), remote ones included.
    public var exported: [String] = []

    public init(ranks: Int) { self.ranks = ranks }

    /// `mpirun …` starting `executable` with `arguments` on every rank.
    public func words(running executable: String, _ arguments: [String]) -> [String] {
        var words = ["mpirun"]
        if oversubscribe { words.append("--oversubscribe") }
        if asRoot { words.append("--allow-run-as-root") }
        if let hostfile { words += ["--hostfile", hostfile] }
        words += ["-np", "\(ranks)"]
        for name in exported { words += ["-x", name] }
        if insideSlurmAllocation { words += ["--bind-to", "none", "-x", "OPENBLAS_NUM_THREADS"] }
        return words + [executable] + arguments
    }
}
