import ArgumentParser
import Flock
import Foundation

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List the runs recorded in an experiment store, with their best metrics.")

    @Option(help: "The store (default runs/flock.sqlite).")
    var store = "runs/flock.sqlite"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: store) else {
            throw CommandFailure("\(store): no experiment store here (runs record themselves in flock.sqlite beside their run directory)")
        }
        let runs: [RunRecord]
        let experimentStore: ExperimentStore
        do {
            experimentStore = try ExperimentStore(path: store, readOnly: true)
            runs = try experimentStore.runs()
        } catch { throw CommandFailure("\(error)") }
        if json {
            let formatter = ISO8601DateFormatter()
            let objects: [[String: Any]] = runs.map { run in
                var object: [String: Any] = ["id": run.id, "name": run.name, "status": run.liveStatus().rawValue,
                                             "epochs_run": run.epochsRun, "world_size": run.worldSize, "host": run.host,
                                             "directory": run.directory, "started_at": formatter.string(from: run.startedAt),
                                             "best": run.bestMetrics]
                if let finished = run.finishedAt { object["finished_at"] = formatter.string(from: finished) }
                if let error = run.error { object["error"] = error }
                if let blas = try? experimentStore.blas(runID: run.id),
                   let recorded = try? FlockJSON.object(from: Data(blas.utf8)) { object["blas"] = recorded }
                return object
            }
            try JSONOutput.print(objects, pretty: true)
            return
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        print("started           status         epochs ranks  directory  best")
        for run in runs {
            let best = run.bestMetrics.filter { $0.key.hasPrefix("val_") }.sorted { $0.key < $1.key }
                .map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: ", ")
            let status = run.liveStatus().rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
            print("\(formatter.string(from: run.startedAt))  \(status) \(String(format: "%6d %5d", run.epochsRun, run.worldSize))  \(run.directory)  \(best)")
        }
    }
}
