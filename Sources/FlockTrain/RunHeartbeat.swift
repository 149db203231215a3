import FlockStore
import Foundation

/// Writes a run's heartbeat to the store every `RunRecord.heartbeatInterval` seconds from
/// its own thread, until stopped or released — so `flock runs` can tell a run still going
/// (however long its epochs) from one whose process was killed.
final class RunHeartbeat: Sendable {
    /// What the thread shares with its owner (the thread must not keep the owner alive).
    private final class Switch: @unchecked Sendable {
        let condition = NSCondition()
        var isOn = true
    }

    private let control = Switch()

    init(store: ExperimentStore, runID: String) {
        let control = control
        let thread = Thread {
            control.condition.lock()
            defer { control.condition.unlock() }
            while control.isOn {
                control.condition.wait(until: Date().addingTimeInterval(RunRecord.heartbeatInterval))
                // The store is a record of the run: a failed write must not stop training.
                if control.isOn { try? store.runHeartbeat(id: runID) }
            }
        }
        thread.name = "flock run heartbeat"
        thread.start()
    }

    /// Stops the beats (the run is finishing and records its own end).
    func stop() {
        control.condition.lock()
        control.isOn = false
        control.condition.signal()
        control.condition.unlock()
    }

    deinit { stop() }
}
