import Foundation

/// A supervised rank's side of in-memory snapshots: every `everySteps` optimizer steps the
/// trainer hands it the rank's checkpoint files (`Trainer.snapshotFiles`), and a
/// background thread encodes, frames, hashes and sends them to this host's keeper and to the buddy
/// keeper on the next host of the hostfile, while the rank trains on. A snapshot that
/// finds the previous one still in flight waits for it: skipping would let ranks hold
/// different steps, and the keepers keep only each rank's newest two, so a complete one
/// could vanish. A keeper that does not answer is reported once and training goes on.
public final class MemorySnapshotSender: @unchecked Sendable {
    public let everySteps: Int
    let attempt: Int
    let rank: Int
    let world: Int
    /// This host's keeper first, then its buddy (one keeper on one machine: one copy).
    let targets: [KeeperAddress]
    private let queue = DispatchQueue(label: "flock.memory-snapshots")
    private let lock = NSLock()
    /// One snapshot in flight at a time.
    private let inFlight = DispatchSemaphore(value: 1)
    private var warned: Set<Int> = []
    /// What snapshots cost this launch: seconds on the training thread (gathering and
    /// copying the state, and waiting for the last send), and on the sending thread.
    private var cost = (training: 0.0, waiting: 0.0, sending: 0.0, sent: 0)
    private let started = Date()

    /// With no keeper announced it sends nothing, but the ranks still agree on when a
    /// snapshot is taken (it is collective).
    public init(channel: SupervisorChannel, everySteps: Int, rank: Int, world: Int,
                 environment: [String: String] = ProcessInfo.processInfo.environment) {
        let keepers = KeeperAddress.all(in: KeeperAddress.folder(in: channel))
        self.everySteps = everySteps
        self.rank = rank
        self.world = world
        attempt = environment[SupervisorChannel.attemptVariable].flatMap(Int.init) ?? 0
        targets = Self.targets(keepers, host: ProcessInfo.processInfo.hostName)
    }

    /// The keeper on `host` (else the first) and the next one after it, if another.
    static func targets(_ keepers: [KeeperAddress], host: String) -> [KeeperAddress] {
        guard !keepers.isEmpty else { return [] }
        let own = keepers.firstIndex { $0.host == host } ?? 0
        let buddy = (own + 1) % keepers.count
        return buddy == own ? [keepers[own]] : [keepers[own], keepers[buddy]]
    }

    /// Sends this rank's `files` of `step` in the background (after the previous send ends).
    /// `files` makes the files on the sending thread; `trainingSeconds`: what preparing
    /// them took the training thread.
    public func send(step: Int, files: @escaping @Sendable () throws -> [String: Data], trainingSeconds: Double = 0) {
        let begun = Date()
        inFlight.wait()
        lock.lock()
        cost.training += trainingSeconds
        cost.waiting += Date().timeIntervalSince(begun)
        lock.unlock()
        queue.async { [self] in
            let begun = Date()
            do {
                let piece = SnapshotPiece(attempt: attempt, step: step, rank: rank, world: world, files: try files())
                for keeper in targets { deliver(piece, to: keeper) }
            } catch {
                FileHandle.standardError.write(Data("warning: rank \(rank): snapshot of step \(step) not made: \(error)\n".utf8))
            }
            lock.lock()
            cost.sending += Date().timeIntervalSince(begun)
            cost.sent += 1
            lock.unlock()
            inFlight.signal()
        }
    }

    /// One line on what snapshots cost this rank since its launch began.
    public func report() -> String {
        drain()
        lock.lock(); defer { lock.unlock() }
        let wall = max(Date().timeIntervalSince(started), 1e-9)
        let held = cost.training + cost.waiting
        return String(format: "snapshots: %d sent to %d keeper%@ every %d steps; %.3f s on the training thread (%.2f %% of this launch's %.1f s; %.3f s of it waiting for the last send), %.3f s sending in the background",
                      cost.sent, targets.count, targets.count == 1 ? "" : "s", everySteps, held, 100 * held / wall, wall,
                      cost.waiting, cost.sending)
    }

    /// Waits for the snapshot in flight, if any.
    public func drain() { queue.sync {} }

    private func deliver(_ piece: SnapshotPiece, to keeper: KeeperAddress) {
        do {
            _ = try keeper.ask(KeeperMessage(operation: .put, piece: piece.key), payload: piece.payload, timeout: 10)
        } catch {
            lock.lock()
            let first = warned.insert(keeper.index).inserted
            lock.unlock()
            if first {
                FileHandle.standardError.write(Data("warning: rank \(rank): snapshot of step \(piece.key.step) not kept: \(error)\n".utf8))
            }
        }
    }
}
