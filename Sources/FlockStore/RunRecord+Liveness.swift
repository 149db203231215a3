import Foundation

extension RunRecord {
    /// How often a running process writes its heartbeat, in seconds.
    public static let heartbeatInterval: TimeInterval = 10
    /// A running run silent this long is taken to be gone (six missed heartbeats).
    public static let heartbeatTimeout: TimeInterval = 60

    /// The status to show: a `running` run whose process is gone — it no longer exists on
    /// this host, or its heartbeat is older than `heartbeatTimeout` — is `interrupted`
    /// (killed, or failed without recording it). Runs from stores without heartbeats keep
    /// their stored status.
    public func liveStatus(now: Date = Date(), host currentHost: String = ProcessInfo.processInfo.hostName,
                           isAlive: (Int) -> Bool = RunRecord.processExists) -> Status {
        guard status == .running, let heartbeat else { return status }
        if host == currentHost, let pid, !isAlive(pid) { return .interrupted }
        return now.timeIntervalSince(heartbeat) > Self.heartbeatTimeout ? .interrupted : .running
    }

    /// Whether process `pid` exists on this host (signal 0 checks without sending).
    public static func processExists(_ pid: Int) -> Bool {
        guard pid > 0, pid <= Int(Int32.max) else { return false }
        return kill(pid_t(pid), 0) == 0 || errno == EPERM
    }
}
