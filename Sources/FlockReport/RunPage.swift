import FlockTrain

/// The section of a report about one run: its curves with train and validation on the same
/// axes, learning rate, throughput, marked epochs (checkpoints, early stop, best epoch,
/// NaN rollbacks) and the over/underfitting sentence.
struct RunPage {
    let run: RunData

    var diagnosis: FitDiagnosis {
        FitDiagnosis.diagnose(train: run.curve("loss"), validation: run.curve("val_loss"))
    }

    func html() -> String {
        var html = "<section class=\"run\">\n<h2>Run \(HTML.escape(run.name))</h2>\n"
        html += "<p>" + HTML.escape(facts.joined(separator: " · ")) + "</p>\n"
        if let error = run.error { html += "<p class=\"message\">Error: \(HTML.escape(error))</p>\n" }
        if let problem = run.config?.problem {
            html += UnreadConfigNote.html("The config could not be read (\(problem)): it is shown as written below, and the best epoch is judged by val_loss.")
        }
        guard !run.epochs.isEmpty else {
            return html + "<p class=\"message\">No epoch has finished yet: the curves appear when the first epoch is logged to metrics.jsonl.</p>\n</section>\n"
        }
        html += "<p class=\"diagnosis\">\(HTML.escape(diagnosis.sentence))</p>\n"
        let notes = markerNotes
        if !notes.isEmpty { html += "<ul class=\"events\">" + notes.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>\n" }
        html += "<div class=\"charts\">\n" + charts().map { HTML.figure($0) }.joined() + "</div>\n"
        if let config = run.config {
            html += "<details\(config.typed == nil ? " open" : "")><summary>config.yaml</summary><pre>\(HTML.escape(config.text))</pre></details>\n"
        }
        return html + "</section>\n"
    }

    private var facts: [String] {
        var facts = ["status \(run.status)", "\(run.epochs.count) epoch\(run.epochs.count == 1 ? "" : "s") logged"]
        if let directory = run.directory { facts.append(directory) }
        return facts
    }

    func charts() -> [Chart] {
        var charts = run.baseMetricNames.map { metricChart($0) }
        let rate = run.curve("lr")
        if !rate.isEmpty {
            charts.append(Chart(title: "Learning rate", xLabel: "epoch", yLabel: "learning rate (at epoch end)",
                                series: [series("learning rate", rate, "lr", color: Palette.color(2))], markers: markers,
                                logY: MetricUnits.wantsLogAxis(rate.map(\.value)), integerX: true))
        }
        let throughput = run.curve("samples_per_second")
        if !throughput.isEmpty {
            charts.append(Chart(title: "Training throughput", xLabel: "epoch", yLabel: "samples per second (all ranks)",
                                series: [series("samples/s", throughput, "samples_per_second", color: Palette.color(4))],
                                markers: markers, integerX: true))
        }
        return charts
    }

    /// `base` and `val_<base>` on one chart.
    private func metricChart(_ base: String) -> Chart {
        var lines: [ChartSeries] = []
        let train = run.curve(base), validation = run.curve("val_\(base)")
        if !train.isEmpty { lines.append(series("training \(base)", train, base, color: Palette.train)) }
        if !validation.isEmpty { lines.append(series("validation \(base)", validation, "val_\(base)", color: Palette.validation, dashed: true)) }
        let title = base == "loss" ? "Loss" : base.prefix(1).uppercased() + base.dropFirst()
        return Chart(title: title, xLabel: "epoch", yLabel: MetricUnits.label(base, lossName: run.config?.lossName), series: lines,
                     markers: markers, logY: base == "loss" && MetricUnits.wantsLogAxis((train + validation).map(\.value)),
                     integerX: true)
    }

    private func series(_ name: String, _ curve: [(epoch: Int, value: Double)], _ column: String, color: String,
                        dashed: Bool = false) -> ChartSeries {
        ChartSeries(name: name, points: curve.map {
            ChartPoint(x: Double($0.epoch), y: $0.value, tip: "run \(run.name) · epoch \($0.epoch) · \(column) \(NumberText.format($0.value))")
        }, color: color, dashed: dashed)
    }

    /// The metric the best epoch is judged by (early stopping's when it is on).
    private var monitor: String { RunConfig.bestEpochMonitor(run.config?.typed).name }

    /// The epoch with the best value of the monitored metric, in its mode's direction.
    private var bestEpoch: (epoch: Int, value: Double)? {
        let (name, mode) = RunConfig.bestEpochMonitor(run.config?.typed)
        let curve = run.curve(name)
        return mode == .max ? curve.max { $0.value < $1.value } : curve.min { $0.value < $1.value }
    }

    var markers: [ChartMarker] {
        var markers = run.checkpointEpochs.map { ChartMarker(x: Double($0), label: "checkpoint kept: epoch \($0)", color: Palette.checkpoint) }
        if let best = bestEpoch {
            markers.append(ChartMarker(x: Double(best.epoch), label: "best \(monitor): epoch \(best.epoch) (\(NumberText.format(best.value)))", color: Palette.best))
        }
        if run.stoppedEarly, let last = run.epochs.last?.epoch {
            markers.append(ChartMarker(x: Double(last), label: "early stopping: stopped after epoch \(last)", color: Palette.earlyStop))
        }
        if let rollbacks = run.rollbacks {
            markers.append(ChartMarker(x: Double(rollbacks.byEpoch), label: rollbackText(rollbacks), color: Palette.rollback))
        }
        return markers
    }

    private func rollbackText(_ rollbacks: NaNRollbacks) -> String {
        let factor = run.config?.rollbackLRFactor.map { ", learning rate ×\(NumberText.format($0)) each" } ?? ""
        return "NaN rollback\(rollbacks.count == 1 ? "" : "s"): \(rollbacks.count) by epoch \(rollbacks.byEpoch) (non-finite loss, back to the last checkpoint\(factor))"
    }

    /// The marked epochs in words, under the diagnosis.
    private var markerNotes: [String] {
        var notes: [String] = []
        if run.stoppedEarly, let last = run.epochs.last?.epoch {
            var note = "Early stopping ended the run after epoch \(last) (monitoring \(monitor)"
            if let best = bestEpoch { note += ", best at epoch \(best.epoch): \(NumberText.format(best.value))" }
            notes.append(note + ").")
            if diagnosis.verdict == .underfitting {
                notes.append("Validation loss was still falling when early stopping ended the run: its min_delta or patience may be too strict.")
            }
        } else if run.config?.earlyStopping != nil {
            notes.append("Early stopping (monitoring \(monitor)) did not trigger.")
        }
        if let rollbacks = run.rollbacks { notes.append(rollbackText(rollbacks) + ".") }
        if !run.checkpointEpochs.isEmpty {
            notes.append("Checkpoints kept: epoch " + run.checkpointEpochs.map(String.init).joined(separator: ", ") + ".")
        }
        return notes
    }
}
