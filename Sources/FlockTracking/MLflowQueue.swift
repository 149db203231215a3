import Foundation

/// Requests to an MLflow server, sent in order by one background thread, so that the
/// thread that enqueues them (training) never waits on the network. A request that gets
/// no answer stays at the head and is tried again with growing pauses (0.5 s doubling to
/// 30 s); the first failure prints one warning. A request the server refuses (HTTP 4xx)
/// is set aside. `flush` waits a bounded time for the rest and hands back what was not
/// sent, which the caller keeps on disk.
public final class MLflowQueue: @unchecked Sendable {
    /// A run of this queue (several runs share one: a study and its trials).
    public struct Run: Hashable, Codable, Sendable { public let index: Int }

    /// What a run is on the server once started.
    public struct Started: Sendable, Equatable {
        public let runID: String
        public let experimentID: String
        public let artifactURI: String
    }

    public let client: MLflowClient
    /// Called on the queue's thread when a run exists on the server (to record its id).
    private let onStarted: @Sendable (Run, Started) -> Void
    private let condition = NSCondition()
    // All below under `condition`.
    private var items: [(run: Run, operation: MLflowOperation)] = []
    private var runs: [Started?] = []
    private var setAside: [(run: Run, operation: MLflowOperation, reason: String)] = []
    private var flushDeadline: Date?
    private var workerDone = false
    private var warnedUnreachable = false, warnedRefused = false

    public init(client: MLflowClient, onStarted: @escaping @Sendable (Run, Started) -> Void = { _, _ in }) {
        self.client = client
        self.onStarted = onStarted
        let thread = Thread { [self] in work() }
        thread.name = "mlflow"
        thread.start()
    }

    /// Queues the creation (or continuation) of a run; later operations name it.
    public func start(_ start: MLflowRunStart) -> Run {
        condition.lock(); defer { condition.unlock() }
        let run = Run(index: runs.count)
        runs.append(nil)
        items.append((run, .start(start)))
        condition.broadcast()
        return run
    }

    public func enqueue(_ operation: MLflowOperation, for run: Run) {
        condition.lock(); defer { condition.unlock() }
        items.append((run, operation))
        condition.broadcast()
    }

    /// The run as the server knows it, once its start went through.
    public func started(_ run: Run) -> Started? {
        condition.lock(); defer { condition.unlock() }
        return runs[run.index]
    }

    /// Waits up to `timeout` seconds (and the request in flight) for the queue to empty,
    /// giving up early when the server fails twice meanwhile; stops the thread. Returns
    /// what was not sent, one JSON line each, with the reason.
    public func flush(timeout: Double) -> [String] {
        condition.lock(); defer { condition.unlock() }
        flushDeadline = Date(timeIntervalSinceNow: timeout)
        condition.broadcast()
        let limit = Date(timeIntervalSinceNow: timeout + client.timeout + 2)
        while !workerDone && condition.wait(until: limit) {}
        let pending = items.map { ($0.run, $0.operation, "not sent: the server did not answer in time") }
        items.removeAll()
        return (setAside + pending).map { run, operation, reason in
            Self.line(runID: runs[run.index]?.runID, operation: operation, reason: reason)
        }
    }

    // MARK: The thread

    private func work() {
        var failures = 0, failuresWhileFlushing = 0
        while let (run, operation) = next() {
            do {
                try send(operation, run: run)
                finishHead()
                failures = 0
            } catch let error as MLflowError where !error.retryable {
                refuse(error)
            } catch {
                failures += 1
                warnUnreachable(error)
                if flushing { failuresWhileFlushing += 1 }
                if failuresWhileFlushing >= 2 || !pause(seconds: min(0.5 * pow(2, Double(failures - 1)), 30)) { break }
            }
        }
        condition.lock(); workerDone = true; condition.broadcast(); condition.unlock()
    }

    /// The head of the queue; nil when flushing and nothing is left or time is up.
    private func next() -> (Run, MLflowOperation)? {
        condition.lock(); defer { condition.unlock() }
        while items.isEmpty && flushDeadline == nil { condition.wait() }
        if let flushDeadline, Date() >= flushDeadline { return nil }
        return items.first.map { ($0.run, $0.operation) }
    }

    private var flushing: Bool {
        condition.lock(); defer { condition.unlock() }
        return flushDeadline != nil
    }

    /// Sleeps before a retry, cut short by a flush (which tries at once); false when the
    /// flush's deadline has passed.
    private func pause(seconds: Double) -> Bool {
        condition.lock(); defer { condition.unlock() }
        let wake = Date(timeIntervalSinceNow: seconds)
        while Date() < wake && flushDeadline == nil { _ = condition.wait(until: wake) }
        return flushDeadline.map { Date() < $0 } ?? true
    }

    /// Drops the head just sent (unless a flush that gave up has emptied the queue meanwhile).
    private func finishHead() {
        condition.lock(); if !items.isEmpty { items.removeFirst() }; condition.unlock()
    }

    /// Sets the head aside; a run that could not start takes its operations with it.
    private func refuse(_ error: MLflowError) {
        condition.lock()
        guard !items.isEmpty else { condition.unlock(); return }
        let head = items.removeFirst()
        setAside.append((head.run, head.operation, "\(error)"))
        if case .start = head.operation {
            let orphans = items.filter { $0.run == head.run }
            items.removeAll { $0.run == head.run }
            setAside += orphans.map { ($0.run, $0.operation, "the run was not created: \(error)") }
        }
        let warn = !warnedRefused
        warnedRefused = true
        condition.unlock()
        if warn { Self.warn("MLflow server \(client.server.absoluteString) refused a request (\(error)); training goes on, refused requests are kept") }
    }

    private func warnUnreachable(_ error: any Error) {
        condition.lock()
        let warn = !warnedUnreachable
        warnedUnreachable = true
        condition.unlock()
        if warn { Self.warn("MLflow server \(client.server.absoluteString) did not answer (\(error)); training goes on, requests are kept and retried") }
    }

    private static func warn(_ text: String) {
        FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
    }
}

extension MLflowQueue {
    /// One operation sent: a run's start, or anything for a run that has started.
    private func send(_ operation: MLflowOperation, run: Run) throws {
        if case let .start(start) = operation { return try begin(start, run: run) }
        guard let started = started(run) else {
            throw MLflowError(endpoint: "queue", status: nil, code: nil, retryable: false, message: "the run was not created")
        }
        switch operation {
        case .start: break
        case let .log(batch): try client.logBatch(runID: started.runID, batch)
        case let .upload(file, artifactPath):
            guard let data = FileManager.default.contents(atPath: file) else {
                throw MLflowError(endpoint: "upload", status: nil, code: nil, retryable: false, message: "\(file) cannot be read")
            }
            try client.uploadArtifact(data, artifactURI: started.artifactURI, path: artifactPath)
        case let .uploadMLmodel(files, artifactPath):
            let text = MLmodelFile.text(files: files, runID: started.runID)
            try client.uploadArtifact(Data(text.utf8), artifactURI: started.artifactURI, path: artifactPath)
        case let .end(status, endTime): try client.updateRun(runID: started.runID, status: status, endTime: endTime)
        }
    }

    /// Finds or creates the experiment, then continues the named run (when the server
    /// still has it) or creates one under the parent.
    private func begin(_ start: MLflowRunStart, run: Run) throws {
        let experimentID = try client.experimentID(named: start.experiment)
        var info: (id: String, artifactURI: String)?
        if let existing = start.existingRunID {
            do {
                info = try client.run(id: existing)
                try client.updateRun(runID: existing, status: "RUNNING", endTime: nil)
            } catch let error as MLflowError where error.code == "RESOURCE_DOES_NOT_EXIST" { info = nil }
        }
        if info == nil {
            var tags = start.tags
            if let parent = start.parent, let parentID = started(parent)?.runID { tags["mlflow.parentRunId"] = parentID }
            info = try client.createRun(experimentID: experimentID, name: start.name, tags: tags)
        }
        let started = Started(runID: info!.id, experimentID: experimentID, artifactURI: info!.artifactURI)
        condition.lock(); runs[run.index] = started; condition.unlock()
        onStarted(run, started)
    }

    static func line(runID: String?, operation: MLflowOperation, reason: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(MLflowUnsentFile.Line(runID: runID, operation: operation, reason: reason))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
