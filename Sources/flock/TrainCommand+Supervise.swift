import ArgumentParser
import Flock
import Foundation

/// `flock train CONFIG --np N`: this process supervises an mpirun job instead of being a rank.
extension TrainCommand {
    func validateSupervision() throws {
        guard let np else {
            if maxRestarts != nil { throw ValidationError("--max-restarts needs --np N (a supervised job)") }
            if hostfile != nil { throw ValidationError("--hostfile needs --np N (a supervised job)") }
            return
        }
        if np < 1 { throw ValidationError("--np: expected a positive integer, got \(np)") }
        if let maxRestarts, maxRestarts < 0 { throw ValidationError("--max-restarts: expected an integer ≥ 0, got \(maxRestarts)") }
        if ranks != nil { throw ValidationError("--np cannot be combined with --ranks: --np starts MPI ranks, --ranks threads") }
        if kfold != nil { throw ValidationError("--np cannot be combined with --kfold") }
        if MPIEnvironment.launchedByMPIRun(ProcessInfo.processInfo.environment) {
            throw ValidationError("--np starts mpirun itself: run `flock train CONFIG --np N`, not under mpirun")
        }
    }

    /// The ranks' collective deadline: the config's, else FLOCK_COLLECTIVE_TIMEOUT's, else 300 s.
    private func deadline(_ resolved: TrainingConfig) -> Double {
        resolved.parallel.collectiveTimeout ?? CollectiveDeadline.fromEnvironment(ProcessInfo.processInfo.environment)
    }

    /// Starts and heals the job; exits with the supervisor's status when it cannot.
    func supervise(_ resolved: TrainingConfig, ranks: Int) throws {
        let here = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : here + "/" + path }
        var train = TrainProcess(executable: URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]),
                                 configPath: absolute(config))
        train.runDirectory = absolute(runDirectory ?? RunDirectory.defaultPath(name: resolved.name))
        train.storePath = store.map(absolute)
        train.overrides = overrides
        train.resume = resume
        // On one machine the ranks end with the supervisor, even when it is SIGKILLed; a
        // process id means nothing on another host.
        train.parentPID = hostfile == nil ? getpid() : nil
        train.defaultBLASThreads = nil
        let elastic = resolved.elastic ?? ElasticConfig()
        let job = SupervisedJob(train: train, ranks: ranks,
                                maxRestarts: maxRestarts ?? elastic.maxRestarts ?? ElasticConfig.defaultMaxRestarts,
                                minRanks: elastic.minRanks ?? 1, hostfile: hostfile.map(absolute),
                                batchSize: resolved.data.batchSize, modelParallel: resolved.parallel.pipeline * resolved.parallel.tensor,
                                stallSeconds: elastic.stallSeconds ?? deadline(resolved) + 60,
                                snapshotEverySteps: elastic.snapshotEverySteps ?? ElasticConfig.defaultSnapshotEverySteps,
                                hostWaitSeconds: elastic.hostWaitSeconds ?? 0)
        let supervisor = JobSupervisor(job: job, storePath: train.storePath) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        do {
            let restarts = try supervisor.run()
            print("supervisor: completed with \(restarts.count) restart\(restarts.count == 1 ? "" : "s")")
        } catch let error as SupervisorError {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode(error.exitStatus)
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
