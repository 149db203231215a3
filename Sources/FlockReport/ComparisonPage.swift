/// Several runs on the same axes (validation solid, training dashed, one colour per run),
/// a summary table, and the config settings that differ between them.
struct ComparisonPage {
    let runs: [RunData]

    func html() -> String {
        var html = "<section class=\"comparison\">\n<h2>\(runs.count) runs compared</h2>\n"
        html += HTML.table(header: ["run", "status", "epochs", "best val_loss", "diagnosis"], rows: runs.map { run in
            let best = run.curve("val_loss").map(\.value).min().map(NumberText.format) ?? "–"
            let diagnosis = FitDiagnosis.diagnose(train: run.curve("loss"), validation: run.curve("val_loss"))
            return [run.name, run.status, "\(run.epochs.count)", best, diagnosis.verdict.rawValue.replacingOccurrences(of: "_", with: " ")
                    + (diagnosis.epoch.map { " (epoch \($0))" } ?? "")]
        })
        html += "<div class=\"charts\">\n" + charts().map { HTML.figure($0) }.joined() + "</div>\n"
        html += "<h2>Config settings that differ</h2>\n" + differences() + "</section>\n"
        return html
    }

    func charts() -> [Chart] {
        let bases = runs.flatMap(\.baseMetricNames).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var charts = bases.map { base -> Chart in
            var lines: [ChartSeries] = []
            for (index, run) in runs.enumerated() {
                let color = Palette.color(index)
                let validation = run.curve("val_\(base)"), train = run.curve(base)
                if !validation.isEmpty { lines.append(series(run, "val_\(base)", validation, color: color, dashed: false)) }
                if !train.isEmpty { lines.append(series(run, base, train, color: color, dashed: true)) }
            }
            // Past a dozen runs the legend would squeeze the plot: the tooltips name the rest.
            var legend = runs.prefix(12).enumerated().map { LegendEntry(label: $0.element.name, color: Palette.color($0.offset)) }
            if runs.count > 12 { legend.append(LegendEntry(label: "+\(runs.count - 12) more (hover a line)", color: "#999999")) }
            legend.append(LegendEntry(label: "solid: validation, dashed: training", color: "#999999", dashed: true))
            return Chart(title: (base == "loss" ? "Loss" : base.prefix(1).uppercased() + base.dropFirst()) + ", all runs", xLabel: "epoch",
                         yLabel: MetricUnits.label(base, lossName: runs.first?.config?.lossName), series: lines, legend: legend,
                         logY: base == "loss" && MetricUnits.wantsLogAxis(lines.flatMap { $0.points.map(\.y) }), integerX: true)
        }
        let rates = runs.enumerated().compactMap { index, run -> ChartSeries? in
            let curve = run.curve("lr")
            return curve.isEmpty ? nil : series(run, "lr", curve, color: Palette.color(index), dashed: false)
        }
        if !rates.isEmpty {
            charts.append(Chart(title: "Learning rate, all runs", xLabel: "epoch", yLabel: "learning rate (at epoch end)", series: rates,
                                logY: MetricUnits.wantsLogAxis(rates.flatMap { $0.points.map(\.y) }), integerX: true))
        }
        return charts
    }

    private func series(_ run: RunData, _ column: String, _ curve: [(epoch: Int, value: Double)], color: String, dashed: Bool) -> ChartSeries {
        ChartSeries(name: "\(run.name) \(column)", points: curve.map {
            ChartPoint(x: Double($0.epoch), y: $0.value, tip: "run \(run.name) · epoch \($0.epoch) · \(column) \(NumberText.format($0.value))")
        }, color: color, dashed: dashed)
    }

    /// Config paths whose values (defaults included) are not the same in every run whose
    /// config was read (data paths included: two runs on different files differ), one
    /// column per run. A run whose config was not read has `(not read)` in every row.
    func differingSettings() -> [(key: String, values: [String])] {
        let settings = runs.map { $0.config?.typed?.flattenedSettings }
        let read = settings.compactMap { $0 }
        return Set(read.flatMap(\.keys)).sorted().compactMap { key in
            guard Set(read.map { $0[key] ?? Self.notSet }).count > 1 else { return nil }
            return (key, settings.map { $0.map { $0[key] ?? Self.notSet } ?? Self.notRead })
        }
    }

    static let notSet = "(not set)", notRead = "(not read)"

    private func differences() -> String {
        let unread = runs.filter { $0.config?.typed == nil }.map(\.name)
        let note = unread.isEmpty ? "" : UnreadConfigNote.html("The config of \(unread.joined(separator: ", ")) could not be read or is missing: compared without it.")
        let rows = differingSettings()
        guard !rows.isEmpty else {
            return note + "<p>\(unread.isEmpty ? "All runs have the same config." : "The runs whose config was read have the same settings.")</p>\n"
        }
        return note + HTML.table(header: ["setting"] + runs.map(\.name), rows: rows.map { [$0.key] + $0.values })
    }
}
