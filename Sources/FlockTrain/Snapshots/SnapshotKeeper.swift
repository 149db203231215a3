import Foundation

/// A per-host process that holds ranks' snapshot pieces in its memory (`flock keeper`,
/// started by a supervisor): it outlives the training job's ranks, so when a rank or the
/// job dies the newest snapshot is still here, and a second copy on the buddy host (the
/// next keeper) survives this host's loss. It serves `KeeperMessage`s over TCP, one thread
/// per connection, and keeps the two newest steps of each rank of the two newest launches.
///
/// ```swift
/// try SnapshotKeeper().serve(announcingIn: folder, index: 0)   // never returns
/// ```
public final class SnapshotKeeper: @unchecked Sendable {
    private let lock = NSLock()
    private var held: [SnapshotPiece.Key: Data] = [:]
    static let stepsKept = 2
    static let attemptsKept = 2

    public init() {}

    /// Listens, announces its address in `folder` as keeper `index`, and serves until killed.
    public func serve(announcingIn folder: URL, index: Int) throws -> Never {
        let (listener, port) = try KeeperSocket.listen()
        let address = KeeperAddress(index: index, host: ProcessInfo.processInfo.hostName, addresses: KeeperSocket.localAddresses(),
                                    port: port, pid: getpid())
        try address.write(in: folder)
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            // Answers wait on nothing: a client that stops reading is dropped after 30 s.
            KeeperSocket.setTimeout(connection, 30)
            Thread.detachNewThread { [self] in
                serve(connection)
                close(connection)
            }
        }
    }

    private func serve(_ connection: Int32) {
        while let (request, payload) = try? KeeperMessage.receive(on: connection) {
            let (answer, data) = self.answer(request, payload)
            guard (try? answer.send(payload: data, on: connection)) != nil else { return }
        }
    }

    /// What to answer `request`.
    func answer(_ request: KeeperMessage, _ payload: Data) -> (KeeperMessage, Data) {
        var answer = KeeperMessage(operation: .answer)
        switch request.operation {
        case .put:
            guard let key = request.piece, key.bytes == payload.count else {
                answer.error = "put: no piece key, or a payload of another length"
                return (answer, Data())
            }
            keep(SnapshotPiece(key: key, payload: payload))
        case .list:
            lock.lock()
            answer.pieces = Array(held.keys)
            lock.unlock()
        case .get:
            lock.lock()
            let data = request.piece.flatMap { held[$0] }
            lock.unlock()
            guard let data else {
                answer.error = "no such piece"
                return (answer, Data())
            }
            return (answer, data)
        case .ping, .answer:
            break
        }
        return (answer, Data())
    }

    /// Keeps `piece`, dropping what is now too old: a rank's steps past the newest two of
    /// its launch, and launches older than the newest two.
    func keep(_ piece: SnapshotPiece) {
        lock.lock()
        defer { lock.unlock() }
        held[piece.key] = piece.payload
        let newestAttempt = held.keys.map(\.attempt).max() ?? 0
        let steps = held.keys.filter { $0.attempt == piece.key.attempt && $0.rank == piece.key.rank }.map(\.step)
        let kept = Set(steps.sorted(by: >).prefix(Self.stepsKept))
        for key in held.keys where key.attempt <= newestAttempt - Self.attemptsKept
            || (key.attempt == piece.key.attempt && key.rank == piece.key.rank && !kept.contains(key.step)) {
            held[key] = nil
        }
    }
}
