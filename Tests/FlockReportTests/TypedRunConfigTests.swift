import FlockTrain
import Testing
@testable import FlockReport

/// The report reads a run's `config.yaml` as the typed `TrainingConfig`: the monitor and
/// mode of early stopping, the loss's name in either spelling, and every setting with the
/// defaults the run used; a config that does not decode is still shown, as written.
@Suite struct TypedRunConfigTests {
    /// A config that decodes; its data file does not exist, which decoding never looks at.
    static func config(_ lines: String, units: Int = 10) -> String {
        """
        data: {source: no/such/file.csv, label_column: label}
        model: [{type: dense, units: \(units)}]
        \(lines)
        """
    }

    static func run(_ name: String = "r", config: String, _ curves: [String: [Double]]) -> RunData {
        let epochs = (curves.values.first ?? []).indices.map { index in
            EpochValues(epoch: index + 1, values: curves.mapValues { $0[index] })
        }
        return RunData(name: name, epochs: epochs, config: config)
    }

    func bestMarker(_ run: RunData) -> ChartMarker? {
        RunPage(run: run).markers.first { $0.label.hasPrefix("best ") }
    }

    @Test func aConfigDecodesFromItsTextWithoutItsDataFiles() throws {
        let config = RunConfig(text: Self.config(""))
        #expect(config.problem == nil)
        #expect(config.typed?.data.source == "no/such/file.csv")
    }

    @Test func earlyStoppingOnValAccuracyMarksTheBestEpochAtTheMaximum() {
        let run = Self.run(config: Self.config("callbacks: {early_stopping: {monitor: val_accuracy, patience: 3}}"),
                           ["val_accuracy": [0.5, 0.9, 0.7], "val_loss": [0.9, 0.6, 0.3]])
        let best = bestMarker(run)
        #expect(best?.label == "best val_accuracy: epoch 2 (0.9)")
        #expect(best?.x == 2)
        #expect(RunPage(run: run).html().contains("Early stopping (monitoring val_accuracy) did not trigger."))
    }

    @Test func theModeAConfigGivesWinsOverTheMetricsOwnDirection() {
        let run = Self.run(config: Self.config("callbacks: {early_stopping: {monitor: val_accuracy, mode: min}}"),
                           ["val_accuracy": [0.5, 0.9, 0.7]])
        #expect(bestMarker(run)?.x == 1)
    }

    @Test func withoutEarlyStoppingTheKeptCheckpointsMonitorJudgesTheBestEpoch() {
        let run = Self.run(config: Self.config("callbacks: {model_checkpoint: {monitor: val_accuracy}}"),
                           ["val_accuracy": [0.5, 0.9, 0.7], "val_loss": [0.9, 0.6, 0.3]])
        #expect(bestMarker(run)?.label == "best val_accuracy: epoch 2 (0.9)")
    }

    @Test func theLossShorthandAndItsMappingLabelTheLossAxisTheSame() {
        let curves = ["loss": [1.0, 0.5], "val_loss": [1.1, 0.6]]
        func lossAxis(_ lines: String) -> String? {
            RunPage(run: Self.run(config: Self.config(lines), curves)).charts().first { $0.title == "Loss" }?.yLabel
        }
        #expect(lossAxis("loss: mse") == "loss (mse, per sample)")
        #expect(lossAxis("loss: {name: mse}") == "loss (mse, per sample)")
        #expect(lossAxis("") == "loss (cross_entropy, per sample)", "the default loss the run used")
    }

    @Test func aSettingLeftAtItsDefaultShowsInTheComparisonTable() {
        let tuned = Self.run("tuned", config: Self.config("optimizer: {name: adam, lr: 0.01}"), ["val_loss": [1]])
        let plain = Self.run("plain", config: Self.config(""), ["val_loss": [1]])
        let rows = ComparisonPage(runs: [tuned, plain]).differingSettings()
        #expect(rows.map(\.key) == ["optimizer.lr"])
        #expect(rows.first?.values == ["0.01", "\(OptimizerConfig().lr)"])
    }

    @Test func theComparisonTableNamesLayerAndLossFieldsAndACallbackThatIsOnInOneRunOnly() {
        let lines = "callbacks: {early_stopping: {patience: 2}}\nloss: {name: cross_entropy, class_weights: [1, 2.5]}"
        let stopping = Self.run("stopping", config: Self.config(lines, units: 12), ["val_loss": [1]])
        let plain = Self.run("plain", config: Self.config(""), ["val_loss": [1]])
        let rows = Dictionary(uniqueKeysWithValues: ComparisonPage(runs: [stopping, plain]).differingSettings().map { ($0.key, $0.values) })
        #expect(rows["model[0].units"] == ["12", "10"])
        #expect(rows["loss.class_weights[1]"] == ["2.5", ComparisonPage.notSet])
        #expect(rows["callbacks.early_stopping.patience"] == ["2", ComparisonPage.notSet])
        #expect(rows["callbacks.early_stopping.monitor"] == ["val_loss", ComparisonPage.notSet], "early stopping's default monitor")
        #expect(rows["optimizer.lr"] == nil, "the same in both runs")
    }

    @Test func aConfigThatDoesNotDecodeIsShownAsWrittenWithANote() {
        let text = "epochs: ten\nmodel: [{type: warp_drive}]\n"
        let broken = Self.run("broken", config: text, ["loss": [1.0, 0.5], "val_loss": [1.1, 0.6]])
        let html = RunPage(run: broken).html()
        #expect(html.contains("The config could not be read (epochs: "), "\(html.prefix(800))")
        #expect(html.contains("<details open><summary>config.yaml</summary><pre>epochs: ten\nmodel: [{type: warp_drive}]"))
        #expect(bestMarker(broken)?.label == "best val_loss: epoch 2 (0.6)")
        #expect(RunPage(run: broken).charts().first?.yLabel == "loss (per sample)")

        let good = Self.run("good", config: Self.config("epochs: 4"), ["val_loss": [1]])
        let page = ComparisonPage(runs: [broken, good, Self.run("other", config: Self.config("epochs: 5"), ["val_loss": [1]])])
        #expect(page.differingSettings().first { $0.key == "epochs" }?.values == [ComparisonPage.notRead, "4", "5"])
        #expect(page.html().contains("The config of broken could not be read or is missing: compared without it."))
    }
}
