import Foundation

/// A supervised rank's side of in-memory snapshots: every `everySteps` optimizer steps the
/// trainer hands it the rank's checkpoint files (`Trainer.snapshotFiles`), and a
/// background thread frames, hashes and sends them to this host's keeper and to the buddy
/// keeper on the next host of the hostfile, while the rank trains on. A snapshot that
/// finds the previous one still in flight is skipped (the keepers then hold an older
/// complete one); a keeper that does not answer is reported once and training goes on.
public final class MemorySnapshotSender: @unchecked Sendable {
    public let everySteps: Int
    let attempt: Int
    let rank: Int
    let world: Int
    /// This host's keeper first, then its buddy (one keeper on one machine: one copy).
    let targets: [KeeperAddress]
    private let queue = DispatchQueue(label: "flock.memory-snapshots")
    private let lock = NSLock()
    private var busy = false
    private var warned: Set<Int> = []

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

    /// Sends this rank's `files` of `step` in the background; false when skipped.
    @discardableResult
    public func send(step: Int, files: [String: Data]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !busy else { return false }
        busy = true
        queue.async { [self] in
            let piece = SnapshotPiece(attempt: attempt, step: step, rank: rank, world: world, files: files)
            for keeper in targets { deliver(piece, to: keeper) }
            lock.lock()
            busy = false
            lock.unlock()
        }
        return true
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
