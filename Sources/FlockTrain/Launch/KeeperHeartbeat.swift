import Foundation

/// Pings each watched keeper every half second from a thread of its own (a silent host
/// costs its ping's timeout, and must not delay the others) and keeps when each last
/// answered.
final class KeeperHeartbeat: @unchecked Sendable {
    private let lock = NSLock()
    private var answered: [Int: Date] = [:]
    /// Bumped to retire the threads of an earlier `watch`.
    private var generation = 0

    /// Watches `keepers` (and only them), each counted as answering from now.
    func watch(_ keepers: [KeeperAddress]) {
        lock.lock()
        generation += 1
        let mine = generation
        answered = Dictionary(uniqueKeysWithValues: keepers.map { ($0.index, Date()) })
        lock.unlock()
        for keeper in keepers {
            Thread.detachNewThread { [self] in
                while isCurrent(mine, keeper.index) {
                    if (try? keeper.ask(KeeperMessage(operation: .ping), timeout: 1)) != nil { record(keeper.index, mine) }
                    usleep(500_000)
                }
            }
        }
    }

    func lastAnswers() -> [Int: Date] {
        lock.lock(); defer { lock.unlock() }
        return answered
    }

    func forget(_ index: Int) {
        lock.lock(); defer { lock.unlock() }
        answered[index] = nil
    }

    func stop() {
        lock.lock(); defer { lock.unlock() }
        generation += 1
        answered = [:]
    }

    private func isCurrent(_ generation: Int, _ index: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return generation == self.generation && answered[index] != nil
    }

    private func record(_ index: Int, _ generation: Int) {
        lock.lock(); defer { lock.unlock() }
        if generation == self.generation && answered[index] != nil { answered[index] = Date() }
    }
}
