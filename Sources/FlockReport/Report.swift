import FlockStore
import Foundation

/// A self-contained HTML report (inline SVG charts, inline CSS and a little script for
/// tooltips; nothing fetched) of a run, of every run in a store, or of a study.
///
/// The store is opened read-only: SQLite's WAL mode lets this reader take its snapshot
/// while training runs and sweeps keep writing, so a report can be made at any time.
///
/// ```swift
/// let report = try Report.make(target: "runs/digits-mlp-20260101-120000")
/// try report.write(to: "report.html")
/// print(report.message)   // "run digits-mlp-… (completed, last epoch 20): Overfitting from epoch 9: …"
/// ```
public struct Report: Sendable {
    public enum Kind: Sendable, Equatable {
        case run, runs(Int), study(String), empty
    }

    public let kind: Kind
    public let html: String
    /// One line for a terminal: what the report shows, or why it is empty.
    public let message: String

    /// - Parameters:
    ///   - target: a run directory, an experiment store file, or a folder holding `flock.sqlite`.
    ///   - study: report this study of the store instead of its runs.
    ///   - refreshSeconds: have an open browser reload the page this often (`--watch`).
    public static func make(target: String, study: String? = nil, refreshSeconds: Double? = nil) throws -> Report {
        let url = URL(fileURLWithPath: target).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ReportError("\(target): no such run directory or experiment store")
        }
        let isRun = isDirectory.boolValue && ["metrics.jsonl", "config.yaml"].contains {
            FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path)
        }
        if isRun && study == nil {
            let storeURL = url.deletingLastPathComponent().appendingPathComponent("flock.sqlite")
            let store = FileManager.default.fileExists(atPath: storeURL.path) ? try? ExperimentStore(path: storeURL.path, readOnly: true) : nil
            return runReport(try RunLoader.load(directory: url, store: store), refreshSeconds: refreshSeconds)
        }
        let storePath = isDirectory.boolValue ? url.appendingPathComponent("flock.sqlite").path : url.path
        guard FileManager.default.fileExists(atPath: storePath) else {
            throw ReportError("\(target): neither a run directory (no metrics.jsonl or config.yaml) nor an experiment store (no flock.sqlite)")
        }
        let store: ExperimentStore
        do { store = try ExperimentStore(path: storePath, readOnly: true) } catch {
            throw ReportError("\(storePath): cannot open the experiment store read-only: \(error)")
        }
        if let study { return try studyReport(store: store, name: study, refreshSeconds: refreshSeconds) }
        return try storeReport(store: store, refreshSeconds: refreshSeconds)
    }

    /// Writes the page to `path` through a temporary file and a rename, so a browser
    /// reloading a watched report never reads half a page.
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try Data(html.utf8).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else { throw ReportError(String(cString: strerror(errno))) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ReportError("\(path): cannot write the report: \(error)")
        }
    }

    static func runReport(_ run: RunData, refreshSeconds: Double?) -> Report {
        let page = RunPage(run: run)
        let summary = run.epochs.isEmpty ? "no epoch logged yet" : page.diagnosis.sentence
        return Report(kind: .run, html: HTML.page(title: "Flock run \(run.name)", body: page.html(), refreshSeconds: refreshSeconds),
                      message: "run \(run.name) (\(run.status), last epoch \(run.epochs.last?.epoch ?? 0)): \(summary)")
    }

    static func storeReport(store: ExperimentStore, refreshSeconds: Double?) throws -> Report {
        let runs: [RunData], studies: [String]
        do {
            runs = try RunLoader.loadAll(store: store)
            studies = try store.studyNames()
        } catch { throw ReportError("\(error)") }
        if runs.isEmpty, let newest = studies.last {
            return try studyReport(store: store, name: newest, refreshSeconds: refreshSeconds)
        }
        guard !runs.isEmpty else { return emptyReport(store: store.path, refreshSeconds: refreshSeconds) }
        if runs.count == 1 { return runReport(runs[0], refreshSeconds: refreshSeconds) }
        var body = ""
        if !studies.isEmpty {
            body += "<p>\(HTML.escape("Studies in this store: \(studies.joined(separator: ", ")) (flock report \(store.path) --study NAME)."))</p>\n"
        }
        body += ComparisonPage(runs: runs).html() + runs.map { RunPage(run: $0).html() }.joined()
        return Report(kind: .runs(runs.count), html: HTML.page(title: "Flock runs in \(store.path)", body: body, refreshSeconds: refreshSeconds),
                      message: "\(runs.count) runs from \(store.path)")
    }

    static func studyReport(store: ExperimentStore, name: String, refreshSeconds: Double?) throws -> Report {
        let snapshot: StudySnapshot?, curves: [TrialCurveRecord]
        do {
            snapshot = try store.study(named: name)
            curves = try snapshot.map { try store.curves(ofStudy: $0.study.name) } ?? []
        } catch { throw ReportError("\(error)") }
        guard let snapshot else {
            let known = (try? store.studyNames()) ?? []
            throw ReportError("\(store.path): no study '\(name)'" + (known.isEmpty ? " (the store has no studies)" : " (studies: \(known.joined(separator: ", ")))"))
        }
        let data = StudyData(snapshot: snapshot, curves: curves)
        let best = data.best.map { ", best trial \($0.number): \(data.metric) \(NumberText.format($0.value!))" } ?? ""
        return Report(kind: .study(snapshot.study.name),
                      html: HTML.page(title: "Flock study \(snapshot.study.name)", body: StudyPage(data: data).html(), refreshSeconds: refreshSeconds),
                      message: "study \(snapshot.study.name): \(snapshot.trials.count) trials\(best)")
    }

    static func emptyReport(store: String, refreshSeconds: Double?) -> Report {
        let message = "The experiment store \(store) holds no runs and no studies yet. A run records itself here when `flock train` starts (the store is flock.sqlite beside the run directories, or --store), a study when `flock sweep` starts; run flock report again (or keep --watch running) to see them."
        return Report(kind: .empty, html: HTML.page(title: "Flock report: nothing to show yet",
                                                    body: "<p class=\"message empty-store\">\(HTML.escape(message))</p>\n", refreshSeconds: refreshSeconds),
                      message: message)
    }
}
