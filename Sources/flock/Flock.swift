import ArgumentParser
import FlockTensor
import FlockTrain

@main
struct FlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flock",
        abstract: "Train neural networks on CPU clusters.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, PredictCommand.self, ExportCommand.self, GenerateCommand.self, RunsCommand.self, SweepCommand.self, TrialsCommand.self, ReportCommand.self,
                      BenchCommand.self, DoctorCommand.self, MPIProbeCommand.self, BLASSelfCheckCommand.self, KeeperCommand.self])

    /// Commands that compute run on the best BLAS core; this may re-execute the process,
    /// so it comes before anything else (MPI, threads).
    static let computing: Set<String> = ["train", "evaluate", "predict", "generate", "sweep", "bench", "doctor", "_blas-selfcheck"]

    static func main() {
        if let command = CommandLine.arguments.dropFirst().first, computing.contains(command) {
            BLASCoreSelection.prepareProcess()
            MemoryTuning.retainFreedMemory()
        }
        main(nil)
    }
}
