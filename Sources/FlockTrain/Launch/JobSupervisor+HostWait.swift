import Foundation

/// A bounded wait for lost hosts to return before a relaunch (`elastic.host_wait_seconds`).
extension JobSupervisor {
    /// `answering` (hosts of the hostfile `all` that answered the probe) and those of the
    /// others that answer again within `host_wait_seconds`, in the hostfile's order; each
    /// missing host is probed again every 2 s or so. A stop request ends the wait.
    func waitForLostHosts(_ answering: [SlotProbe.Host], of all: [SlotProbe.Host]) throws -> [SlotProbe.Host] {
        var back = answering
        var missing = all.filter { !back.contains($0) }
        guard job.hostWaitSeconds > 0, !missing.isEmpty else { return answering }
        let wait = Int(job.hostWaitSeconds.rounded(.up))
        log("supervisor: waiting up to \(wait) s for \(Self.names(missing)) to return (elastic.host_wait_seconds)")
        let deadline = Date().addingTimeInterval(job.hostWaitSeconds)
        while !missing.isEmpty, Date() < deadline {
            if let signal = stop.signal { throw stopped(by: signal) }
            let left = deadline.timeIntervalSinceNow
            let returned = SlotProbe.answering(missing, timeout: min(10, max(1, left)))
            back += returned
            missing.removeAll { returned.contains($0) }
            if !missing.isEmpty && deadline.timeIntervalSinceNow > 0 { usleep(UInt32(min(2, deadline.timeIntervalSinceNow) * 1e6)) }
        }
        log(missing.isEmpty ? "supervisor: every host is back"
                            : "supervisor: \(Self.names(missing)) did not return within \(wait) s; going on without")
        return all.filter { back.contains($0) }
    }

    /// The supervisor's end after SIGTERM or SIGINT.
    func stopped(by signal: Int32) -> SupervisorError {
        SupervisorError(exitStatus: 128 + signal, description: "stopped by signal \(signal): the job's processes were ended; continue it with --resume")
    }

    static func names(_ hosts: [SlotProbe.Host]) -> String {
        hosts.map(\.name).joined(separator: ", ")
    }
}
