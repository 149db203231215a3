import Foundation

/// Ends this process when another one is gone: a sweep's trials watch their driver, so a
/// killed driver leaves no orphan training on (its restart resumes the trial instead).
public enum ParentWatch {
    /// Exit status of a process that ended because its parent did.
    public static let exitStatus: Int32 = 3

    /// Starts a thread that polls `pid` every 250 ms and exits the process once it is gone.
    public static func exit(whenGone pid: Int32) {
        watch(pid) { Foundation.exit(exitStatus) }
    }

    /// Starts a thread that polls `pid` every 250 ms and sends this process SIGTERM once it
    /// is gone (a supervisor, whose SIGTERM handling ends its whole job).
    public static func terminate(whenGone pid: Int32) {
        watch(pid) { kill(getpid(), SIGTERM) }
    }

    private static func watch(_ pid: Int32, then act: @escaping @Sendable () -> Void) {
        let thread = Thread {
            while true {
                if kill(pid, 0) != 0 && errno == ESRCH {
                    act()
                    return
                }
                usleep(250_000)
            }
        }
        thread.start()
    }
}
