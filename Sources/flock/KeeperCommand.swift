import ArgumentParser
import Flock
import Foundation

/// `flock _keeper`: a supervised job's snapshot keeper on one host (see `SnapshotKeeper`),
/// started by the supervisor, never by hand.
struct KeeperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_keeper", shouldDisplay: false)

    @Option(help: "The folder to announce this keeper's address in (the supervisor's channel).")
    var folder: String

    @Option(help: "This keeper's host: its position in the hostfile (0 on one machine).")
    var index: Int

    @Option(help: "End when this process is gone (the supervisor, on one machine).")
    var exitWithPID: Int32?

    func run() throws {
        guard index >= 0 else { throw ValidationError("--index: expected an integer ≥ 0, got \(index)") }
        if let exitWithPID { ParentWatch.exit(whenGone: exitWithPID) }
        do { try SnapshotKeeper().serve(announcingIn: URL(fileURLWithPath: folder), index: index) } catch {
            throw CommandFailure("snapshot keeper \(index): \(error)")
        }
    }
}
