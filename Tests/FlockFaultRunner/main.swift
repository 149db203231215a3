// `flock train` with slow checkpoint writes, for the fault tests that kill a run in the
// middle of writing one (the production `flock` has no such switch):
//   flock-fault-runner PAUSE_MS train CONFIG --run-dir DIR [--resume] [--ranks N]
// Every checkpoint file, and the commit of its folder, is followed by a pause of PAUSE_MS.
import FlockTrain
import Foundation

struct UsageError: Error, CustomStringConvertible { let description: String }

func value(after flag: String, in arguments: [String]) -> String? {
    arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

func main() throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard arguments.count >= 3, let pause = UInt32(arguments[0]), arguments[1] == "train",
          let runDirectory = value(after: "--run-dir", in: arguments) else {
        throw UsageError(description: "usage: flock-fault-runner PAUSE_MS train CONFIG --run-dir DIR [--resume] [--ranks N]")
    }
    let config = try ConfigLoader.load(path: arguments[2])
    let ranks = value(after: "--ranks", in: arguments).flatMap(Int.init)
    let resume = arguments.contains("--resume")
    try JobLauncher(launch: try RankLaunch.choose(ranks: ranks)).run { communicator in
        let training = try TrainingRun(config: config, runDirectory: runDirectory, communicator: communicator, resume: resume)
        training.trainer.checkpointWriteHook = { usleep(pause * 1000) }
        _ = try training.run()
    }
}

// The BLAS core `flock train` would run on (this may re-execute the process), so a killed
// run resumed by `flock train` computes with the same kernel.
BLASCoreSelection.prepareProcess()
do { try main() } catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
