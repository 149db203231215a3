import Testing

extension Trait where Self == TimeLimitTrait {
    /// The time limit of a test that could hang: long enough to fail a hang and nothing
    /// else. swift-testing starts a test's clock when it queues the test, not when its body
    /// gets a thread, and on a 2-core machine, where the cooperative pool has two threads
    /// and many tests block one (mpirun jobs, child processes), a queued test waited
    /// 15 minutes for its turn: 1-minute limits failed tests that ran in milliseconds.
    public static var hangLimit: Self { .timeLimit(.minutes(30)) }
}
