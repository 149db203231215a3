import FlockStore
import FlockSweep
import FlockTestSupport
import Foundation
import Testing
@testable import FlockReport

/// Reports of real runs and a real study, opened in headless Chromium: the charts' SVG,
/// axis labels, legends and tooltips are in the DOM after the page's script ran, and every
/// chart's plot area in the screenshot has data drawn in colour across it.
@Suite(.serialized, .hangLimit) struct ReportInBrowserTests {
    /// Writes `report` beside the runs and opens it.
    func open(_ report: Report, _ folder: TemporaryFolder, _ name: String) throws -> BrowserPage {
        let file = folder.url.appendingPathComponent("\(name).html")
        try report.write(to: file.path)
        return try HeadlessChromium.open(file)
    }

    /// Every chart was laid out and has data drawn inside its plot area.
    func expectChartsDrawn(_ page: BrowserPage, count: Int, _ comment: Comment) throws {
        #expect(page.count("<svg class=\"chart\"") == count, comment)
        try #require(page.plotAreas.count == count, "the page's script did not record every plot area: \(comment)")
        let columns = try page.colouredColumnsPerChart()
        #expect(columns.count == count)
        for (index, drawn) in columns.enumerated() {
            // Plot areas are about 500 px wide; markers take a few columns each.
            #expect(drawn > 40, "chart \(index) of \(comment) has no data drawn in the screenshot (\(drawn) columns in colour) — \(page.screenshot.path)")
        }
    }

    func summary(_ run: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as! [String: Any]
    }

    @Test func aFinishedRunShowsTrainingAndValidationCurvesWithAxesLegendsTooltipsAndADiagnosis() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try ReportFixtures.train(folder, name: "finished", """
            epochs: 6
            optimizer: {name: momentum, lr: 0.05}
            """)
        let page = try open(try Report.make(target: run.path), folder, "finished")
        // Loss, accuracy, learning rate, throughput.
        try expectChartsDrawn(page, count: 4, "finished run")
        for label in ["epoch", "loss (cross_entropy, per sample)", "accuracy (fraction of samples)",
                      "learning rate (at epoch end)", "samples per second (all ranks)"] {
            #expect(page.count(">\(label)</text>") >= 1, "axis label \(label)")
        }
        for legend in ["training loss", "validation loss", "training accuracy", "validation accuracy"] {
            #expect(page.count("class=\"legend-label\" x=\"") > 0 && page.dom.contains(">\(legend)</text>"), "legend \(legend)")
        }
        let lines = RunLoader.epochs(jsonl: try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8))
        let lastLoss = try #require(lines.last?.values["val_loss"])
        #expect(page.dom.contains("data-tip=\"run finished · epoch 6 · val_loss \(String(format: "%.4g", lastLoss))\""))
        #expect(page.dom.contains("checkpoint kept: epoch 6"))
        let diagnosis = try #require(page.dom.components(separatedBy: "<p class=\"diagnosis\">").dropFirst().first)
        #expect(["Overfitting from epoch", "Underfitting", "No sign of over- or underfitting", "Unstable from epoch"]
            .contains { diagnosis.hasPrefix($0) }, "\(diagnosis.prefix(200))")
        #expect(!page.dom.contains("NaN"))
    }

    @Test func aRunStoppedEarlyMarksTheEpochItStoppedAfter() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try ReportFixtures.train(folder, name: "early", ReportFixtures.earlyStoppingYAML)
        let summary = try summary(run)
        try #require(summary["stopped_early"] as? Bool == true, "the fixture did not stop early: \(summary)")
        let stopped = try #require(summary["epochs_run"] as? Int)
        let page = try open(try Report.make(target: run.path), folder, "early")
        try expectChartsDrawn(page, count: 4, "early-stopped run")
        #expect(page.dom.contains("early stopping: stopped after epoch \(stopped)"))
        #expect(page.dom.contains("Early stopping ended the run after epoch \(stopped) (monitoring val_loss, best at epoch"))
        #expect(page.dom.contains("status stopped_early"))
    }

    @Test func aRunWithNaNRollbacksSaysSoAndDrawsOnlyFiniteValues() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try ReportFixtures.train(folder, name: "rollback", ReportFixtures.rollbackYAML)
        let page = try open(try Report.make(target: run.path), folder, "rollback")
        try expectChartsDrawn(page, count: 4, "rollback run")
        // NonFiniteLossTests: this recipe rolls back twice, during epoch 2.
        #expect(page.dom.contains("NaN rollbacks: 2 by epoch"), "\(page.dom.components(separatedBy: "class=\"events\"").dropFirst().first?.prefix(600) ?? "no events list")")
        #expect(!page.dom.contains("points=\"NaN") && !page.dom.contains(",NaN"))
    }

    @Test func severalRunsFromTheCommandLineAreOverlaidWithATableOfTheirDifferingSettings() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try ReportFixtures.train(folder, name: "slow", "epochs: 3\noptimizer: {name: sgd, lr: 0.01}")
        try ReportFixtures.train(folder, name: "fast", "epochs: 3\noptimizer: {name: sgd, lr: 0.2}")
        let output = folder.url.appendingPathComponent("runs.html")
        let outcome = try ChildProcess.flock(["report", folder.url.path, "--output", output.path])
        try #require(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.standardOutput.contains("2 runs from"))
        let page = try HeadlessChromium.open(output)
        #expect(page.dom.contains("2 runs compared"))
        // Comparison (loss, accuracy, learning rate) then each run's own four charts.
        try expectChartsDrawn(page, count: 3 + 2 * 4, "two runs")
        let table = try #require(page.dom.components(separatedBy: "Config settings that differ").dropFirst().first)
        #expect(table.contains("<td>optimizer.lr</td><td>0.01</td><td>0.2</td>"), "\(table.prefix(1500))")
        #expect(!table.contains("<td>optimizer.name</td>"))
        #expect(page.dom.contains("data-tip=\"run slow · epoch 3 · val_loss"))
        #expect(page.dom.contains("data-tip=\"run fast · epoch 3 · val_loss"))
    }

    @Test func aStudyShowsHistoryParametersPrunedAndFailedTrialsImportanceAndTheBestConfig() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let store = folder.url.appendingPathComponent("flock.sqlite").path
        let trials = try StudyFixture.run(store: store, directory: folder.url)
        let failed = try #require(trials.first { $0.state == .failed })
        let pruned = trials.filter { $0.state == .pruned }
        try #require(!pruned.isEmpty, "the fixture pruned nothing: \(trials.map(\.state))")
        let page = try open(try Report.make(target: store, study: "report-study"), folder, "study")
        // History, intermediate values, two parameters, importance.
        try expectChartsDrawn(page, count: 5, "study")
        for label in ["trial number", "val_loss (minimize)", "step (epoch)", "optimizer.lr (log scale)", "optimizer.momentum",
                      "share of the explained variance of val_loss (0–1)"] {
            #expect(page.dom.contains(">\(label)</text>"), "axis label \(label)")
        }
        #expect(page.dom.contains("trial \(failed.number) failed: diverged"))
        for trial in pruned {
            let step = try #require(try StudyFixture.lastStep(store: store, trial: trial))
            #expect(page.dom.contains("data-tip=\"trial \(trial.number) · val_loss \(String(format: "%.4g", trial.value!)) · pruned at step \(step)\""))
        }
        let best = try #require(trials.filter { $0.state == .complete }.min { $0.value! < $1.value! })
        #expect(page.dom.contains("Trial \(best.number): val_loss \(String(format: "%.4g", best.value!))"))
        #expect(page.dom.contains("class=\"best-config\""))
        #expect(page.dom.contains(">optimizer.lr</text>") && page.dom.contains("class=\"bar\""))
    }

    @Test func anEmptyStoreGivesAClearMessageNotAnEmptyPage() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let store = folder.url.appendingPathComponent("flock.sqlite").path
        _ = try ExperimentStore(path: store)
        let report = try Report.make(target: store)
        #expect(report.kind == .empty)
        #expect(report.message.hasPrefix("The experiment store \(store) holds no runs and no studies yet."))
        let page = try open(report, folder, "empty")
        #expect(page.dom.contains("<p class=\"message empty-store\">The experiment store"))
        #expect(page.count("<svg") == 0)
        // From the command line: the same sentence, and success (a watched report may start before any run).
        let outcome = try ChildProcess.flock(["report", store, "--output", folder.url.appendingPathComponent("cli.html").path])
        #expect(outcome.status == 0 && outcome.standardOutput.contains("holds no runs and no studies yet"), "\(outcome.output)")
    }
}
