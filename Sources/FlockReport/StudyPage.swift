import FlockStore
import FlockTrain
import Foundation

/// The report of a hyperparameter study: optimization history with the best so far, each
/// parameter against the objective, intermediate values (pruned trials marked where they
/// stopped), parameter importances, the best trial's config and every trial.
struct StudyPage {
    let data: StudyData

    func html() -> String {
        let study = data.study
        var html = "<section class=\"study\">\n<h2>Study \(HTML.escape(study.name))</h2>\n"
        let counts = Dictionary(grouping: data.trials, by: \.state).mapValues(\.count)
        let states = ["complete", "pruned", "failed", "running", "waiting"].compactMap { name in
            counts.first { $0.key.rawValue == name }.map { "\($0.value) \(name)" }
        }
        html += "<p>\(HTML.escape("objective: \(data.direction) \(data.metric) · \(data.trials.count) trials (\(states.joined(separator: ", ")))"))</p>\n"
        if let problem = data.definitionProblem {
            html += UnreadConfigNote.html("The sweep file could not be read (\(problem)): the direction is the store's record of it, and the parameters are the trials' own.")
        }
        guard !data.trials.isEmpty else {
            return html + "<p class=\"message\">This study has no trials yet: they appear as the sweep driver creates them.</p>\n</section>\n"
        }
        html += "<div class=\"charts\">\n" + HTML.figure(history())
        html += intermediateValues().map { HTML.figure($0, caption: "Each line is one trial's reported value per step; × marks where a pruned trial stopped.") } ?? ""
        html += "</div>\n<h2>Parameters against the objective</h2>\n<div class=\"charts\">\n"
        html += data.space.map { HTML.figure(parameterChart($0.name, log: $0.log)) }.joined() + "</div>\n"
        html += importance()
        html += bestTrial()
        html += "<h2>Trials</h2>\n" + trialTable()
        return html + "</section>\n"
    }

    private func value(_ trial: TrialRecord) -> String { trial.value.map(NumberText.format) ?? "–" }

    private func tip(_ trial: TrialRecord) -> String {
        var text = "trial \(trial.number) · \(data.metric) \(value(trial))"
        if let step = data.prunedStep(trial) { text += " · pruned at step \(step)" }
        return text
    }

    /// Each trial's objective by trial number, and the best so far as a step line.
    func history() -> Chart {
        let complete = data.trials.filter { $0.state == .complete && $0.value != nil }
        let pruned = data.trials.filter { $0.state == .pruned && $0.value != nil }
        var bestPoints: [ChartPoint] = []
        var best: Double?
        for trial in complete {
            let value = trial.value!
            let improved = best.map { data.maximize ? value > $0 : value < $0 } ?? true
            if let best { bestPoints.append(ChartPoint(x: Double(trial.number), y: best, tip: "best so far before trial \(trial.number): \(NumberText.format(best))")) }
            if improved { best = value }
            bestPoints.append(ChartPoint(x: Double(trial.number), y: best!, tip: "best so far after trial \(trial.number): \(NumberText.format(best!))"))
        }
        if let best, let last = data.trials.last?.number, last > (complete.last?.number ?? last) {
            bestPoints.append(ChartPoint(x: Double(last), y: best, tip: "best so far after trial \(last): \(NumberText.format(best))"))
        }
        let failed = data.trials.filter { $0.state == .failed }.map {
            ChartMarker(x: Double($0.number), label: "trial \($0.number) failed" + ($0.error.map { ": \($0)" } ?? ""), color: Palette.failed)
        }
        var legend = [LegendEntry(label: "complete trial", color: Palette.complete, shape: .dot),
                      LegendEntry(label: "pruned (value when stopped)", color: Palette.pruned, shape: .cross),
                      LegendEntry(label: "best so far", color: Palette.best)]
        if !failed.isEmpty { legend.append(LegendEntry(label: "failed trial", color: Palette.failed, dashed: true)) }
        return Chart(title: "Optimization history", xLabel: "trial number", yLabel: "\(data.metric) (\(data.direction))",
                     series: [ChartSeries(name: "best so far", points: bestPoints, color: Palette.best, shape: .none),
                              ChartSeries(name: "complete", points: complete.map { ChartPoint(x: Double($0.number), y: $0.value!, tip: tip($0)) },
                                          color: Palette.complete, line: false),
                              ChartSeries(name: "pruned", points: pruned.map { ChartPoint(x: Double($0.number), y: $0.value!, tip: tip($0)) },
                                          color: Palette.pruned, line: false, shape: .cross)],
                     markers: failed, legend: legend, logY: MetricUnits.wantsLogAxis((complete + pruned).map { $0.value! }), integerX: true)
    }

    /// One line per trial that reported values; pruned trials end in a ×.
    func intermediateValues() -> Chart? {
        // Complete trials drawn last, on top of the pruned ones that share their first steps.
        let reporting = data.trials.filter { !(data.curves[$0.number] ?? [:]).isEmpty }
            .sorted { ($0.state == .complete ? 1 : 0, $0.number) < ($1.state == .complete ? 1 : 0, $1.number) }
        guard !reporting.isEmpty else { return nil }
        let lines = reporting.map { trial -> ChartSeries in
            let steps = data.curves[trial.number]!.sorted { $0.key < $1.key }
            let color = trial.state == .pruned ? Palette.pruned : trial.state == .failed ? Palette.failed : Palette.complete
            var series = ChartSeries(name: "trial \(trial.number)", points: steps.map {
                ChartPoint(x: Double($0.key), y: $0.value, tip: "trial \(trial.number) (\(trial.state.rawValue)) · step \($0.key) · \(data.metric) \(NumberText.format($0.value))")
            }, color: color, shape: .dot)
            if trial.state == .pruned { series.emphasized = [steps.count - 1: .cross] }
            return series
        }
        let legend = [LegendEntry(label: "complete", color: Palette.complete), LegendEntry(label: "pruned", color: Palette.pruned),
                      LegendEntry(label: "stopped by the pruner", color: Palette.pruned, shape: .cross)]
        return Chart(title: "Intermediate values", xLabel: "step (epoch)", yLabel: "\(data.metric) as reported", series: lines,
                     legend: legend, logY: MetricUnits.wantsLogAxis(lines.flatMap { $0.points.map(\.y) }), integerX: true)
    }

    /// The objective against one parameter (complete and pruned trials).
    func parameterChart(_ name: String, log: Bool) -> Chart {
        let trials = data.trials.filter { ($0.state == .complete || $0.state == .pruned) && $0.value != nil }
        let values = trials.map { data.params($0)[name] }
        let categories: [String]? = values.contains { if case .category = $0 { return true }; return false }
            ? Array(Set(values.compactMap { $0?.text })).sorted() : nil
        func x(_ value: TrialParameterValue?) -> Double {
            if let categories { return Double(categories.firstIndex(of: value?.text ?? "") ?? 0) }
            if case .number(let number) = value { return number }
            return .nan
        }
        func points(_ state: String) -> [ChartPoint] {
            zip(trials, values).filter { $0.0.state.rawValue == state }.map { trial, value in
                ChartPoint(x: x(value), y: trial.value!, tip: "trial \(trial.number) · \(name) \(value?.text ?? "–") · \(data.metric) \(NumberText.format(trial.value!))"
                           + (data.prunedStep(trial).map { " (pruned at step \($0))" } ?? ""))
            }
        }
        return Chart(title: name, xLabel: name + (log ? " (log scale)" : ""), yLabel: data.metric,
                     series: [ChartSeries(name: "complete", points: points("complete"), color: Palette.complete, line: false),
                              ChartSeries(name: "pruned", points: points("pruned"), color: Palette.pruned, line: false, shape: .cross)],
                     logX: log && categories == nil, logY: MetricUnits.wantsLogAxis(trials.map { $0.value! }), xCategories: categories)
    }

    private func importance() -> String {
        let complete = data.trials.filter { $0.state == .complete && $0.value != nil }
        let estimates = ParameterImportance.estimate(complete.map { (data.params($0), $0.value!) })
        var html = "<h2>Parameter importance</h2>\n"
        guard !estimates.isEmpty else {
            return html + "<p class=\"message\">Too few complete trials (\(complete.count)) or an objective that does not vary: an importance estimate needs at least 4 complete trials.</p>\n"
        }
        let bars = BarChart(title: "Parameter importance", valueLabel: "share of the explained variance of \(data.metric) (0–1)",
                            bars: estimates.map { ($0.parameter, $0.importance,
                                                   "\($0.parameter): importance \(NumberText.format($0.importance)), ω² \(NumberText.format($0.explainedVariance))") })
        html += "<figure class=\"chart-box\"><h3>Parameter importance</h3>\n\(bars.svg())<figcaption>"
        html += HTML.escape("From \(complete.count) complete trials. Method: each parameter's trials are binned (per category, per distinct value, or 5 equal-count bins by rank); the share of the objective's variance the bin means explain, ω² = (SS_between − (k−1)·MS_within)/(SS_total + MS_within), floored at 0 and scaled to sum to 1 — fANOVA's main effects estimated from the trials directly, interactions not separated.")
        return html + "</figcaption></figure>\n"
    }

    private func bestTrial() -> String {
        var html = "<h2>Best trial</h2>\n"
        guard let best = data.best else { return html + "<p class=\"message\">No trial has completed yet.</p>\n" }
        html += "<p>\(HTML.escape("Trial \(best.number): \(data.metric) \(value(best))" + (best.runDirectory.map { " · run \($0)" } ?? "")))</p>\n"
        html += HTML.table(header: ["parameter", "value"], rows: data.params(best).sorted { $0.key < $1.key }.map { [$0.key, $0.value.text] })
        if let directory = best.runDirectory,
           let config = try? String(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("config.yaml"), encoding: .utf8) {
            return html + "<details open><summary>config.yaml of its run</summary><pre class=\"best-config\">\(HTML.escape(config))</pre></details>\n"
        }
        return html + trialSettings(best)
    }

    /// No run directory to read: the trial's settings (the study's base config with its
    /// parameters set), or the base as written when that cannot be made.
    private func trialSettings(_ trial: TrialRecord) -> String {
        let config: TrainingConfig
        do { config = try data.trialConfig(trial) } catch {
            return UnreadConfigNote.html("The trial's config could not be made (\(UnreadConfigNote.reason(error))): the study's base config as stored, without the trial's parameters:")
                + "<details open><summary>base config</summary><pre class=\"best-config\">\(HTML.escape(data.study.base))</pre></details>\n"
        }
        let lines = config.flattenedSettings.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        return "<details open><summary>config (the study's base with the trial's parameters)</summary><pre class=\"best-config\">"
            + HTML.escape(lines.joined(separator: "\n")) + "</pre></details>\n"
    }

    private func trialTable() -> String {
        let names = data.space.map(\.name)
        let header: [String] = ["trial", "state", data.metric, "stopped at step"] + names + ["seconds", "error"]
        let rows = data.trials.map { trial -> [String] in
            let params = data.params(trial)
            let stoppedAt: String = data.prunedStep(trial).map(String.init) ?? ""
            let seconds: String = trial.duration.map { String(format: "%.1f", $0) } ?? ""
            let values: [String] = names.map { params[$0]?.text ?? "" }
            return ["\(trial.number)", trial.state.rawValue, value(trial), stoppedAt] + values + [seconds, trial.error ?? ""]
        }
        return HTML.table(header: header, rows: rows)
    }
}
