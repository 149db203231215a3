import FlockStore
import FlockTrain
import Testing
@testable import FlockReport

/// The report marks the best epoch of a monitored metric in the direction training uses
/// for it (EarlyStopping's and ModelCheckpoint's `mode: auto`, `summary.json`'s best):
/// both read the one list of metrics and their directions, `MetricName`, which lives in
/// FlockStore, the lowest module that FlockTrain, FlockSweep and FlockReport all import.
@Suite struct MetricDirectionTests {
    @Test func theMetricListIsDeclaredInTheLowestModuleBothImport() {
        #expect(String(reflecting: MetricName.self) == "FlockStore.MetricName")
    }

    @Test func theBestEpochMarkerGoesTheWayTrainingDoesForEveryMonitorableMetric() {
        for monitor in ["loss", "val_loss"] + MetricName.allCases.flatMap({ [$0.rawValue, "val_\($0.rawValue)"] }) {
            let values = [1.0, 3.0, 2.0]
            let run = RunData(name: "r", epochs: values.enumerated().map { EpochValues(epoch: $0.offset + 1, values: [monitor: $0.element]) },
                              config: TypedRunConfigTests.config("callbacks: {early_stopping: {monitor: \(monitor)}}"))
            let best = RunPage(run: run).markers.first { $0.label.hasPrefix("best \(monitor):") }
            let trainingBest = MonitorMode.auto.resolved(for: monitor) == .max ? 2.0 : 1.0
            #expect(best?.x == trainingBest, "best \(monitor)")
        }
    }
}
