import ArgumentParser

@main
struct FlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flock",
        abstract: "Train neural networks on CPU clusters.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, RunsCommand.self, SweepCommand.self, TrialsCommand.self, BenchCommand.self])
}
