import ArgumentParser
import Flock
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page of charts: a run, every run of a store, or a study.",
        discussion: "Reads the store read-only, so it can run while training or a sweep writes to it.")

    @Argument(help: "A run directory, an experiment store (flock.sqlite), or a folder holding flock.sqlite.")
    var target: String

    @Option(help: "Report this study of the store instead of its runs.")
    var study: String?

    @Option(help: "The HTML file to write.")
    var output = "report.html"

    @Option(help: "Rewrite the report every SECONDS until interrupted (an open page reloads itself).")
    var watch: Double?

    func run() throws {
        do {
            if let watch {
                let watcher = try ReportWatcher(target: target, study: study, output: output, seconds: watch)
                print("writing \(output) every \(NumberFormatter.localizedString(from: NSNumber(value: watch), number: .decimal)) s (Ctrl-C stops)")
                try watcher.run { result in
                    switch result {
                    case .success(let report): print("\(Self.time()) \(report.message)")
                    case .failure(let error): print("\(Self.time()) not updated: \(error)")
                    }
                }
            } else {
                let report = try Report.make(target: target, study: study)
                try report.write(to: output)
                print(report.message)
                print("wrote \(output)")
            }
        } catch let error as ReportError {
            throw CommandFailure(error.description)
        }
    }

    private static func time() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        return formatter.string(from: Date())
    }
}
