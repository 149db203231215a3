import Foundation
import Testing
@testable import FlockTrain

/// A rank's snapshot piece as it travels to and rests in a keeper (no process: the wire
/// and the keepers are exercised by `SupervisedJobTests` and `TestbedTests`).
struct SnapshotPieceTests {
    @Test func aPieceComesBackAsTheFilesItWasMadeOf() throws {
        let files = ["state.json": Data("{}".utf8), "model.safetensors": Data((0..<300).map { UInt8($0 % 251) }), "empty": Data()]
        let piece = SnapshotPiece(attempt: 1, step: 25, rank: 2, world: 4, files: files)
        #expect(try piece.files() == files)
        #expect(piece.key.bytes == piece.payload.count)
    }

    /// A piece damaged in a keeper or on the way is refused, naming its rank and step.
    @Test func aDamagedPieceIsAnErrorNamingItsRankAndStep() {
        let piece = SnapshotPiece(attempt: 0, step: 40, rank: 3, world: 4, files: ["state.json": Data("{\"step\": 40}".utf8)])
        var damaged = piece.payload
        damaged[damaged.count - 1] ^= 0xFF
        for payload in [damaged, piece.payload.prefix(piece.payload.count - 2)] {
            do {
                _ = try SnapshotPiece(key: piece.key, payload: Data(payload)).files()
                Issue.record("a damaged piece was accepted")
            } catch {
                #expect("\(error)".contains("snapshot piece of rank 3 at step 40"), "\(error)")
            }
        }
        // A well-hashed piece that names a path outside its checkpoint folder.
        let escaping = SnapshotPiece(attempt: 0, step: 40, rank: 0, world: 1, files: ["../state.json": Data()])
        #expect(throws: KeeperSocket.Failure.self) { try escaping.files() }
    }

    /// A keeper holds a rank's two newest steps of the two newest launches.
    @Test func aKeeperKeepsTheNewestStepsOfTheNewestLaunches() {
        let keeper = SnapshotKeeper()
        func put(_ attempt: Int, _ step: Int, _ rank: Int) {
            let piece = SnapshotPiece(attempt: attempt, step: step, rank: rank, world: 2, files: ["f": Data([UInt8(step)])])
            _ = keeper.answer(KeeperMessage(operation: .put, piece: piece.key), piece.payload)
        }
        for step in [5, 10, 15] { put(0, step, 0); put(0, step, 1) }
        put(1, 12, 0)
        put(2, 14, 1)
        let held = keeper.answer(KeeperMessage(operation: .list), Data()).0.pieces ?? []
        let summary = Set(held.map { "\($0.attempt)/\($0.step)/\($0.rank)" })
        #expect(summary == ["1/12/0", "2/14/1"], "launch 0 is two launches old: \(summary)")
        put(3, 20, 0); put(3, 25, 0); put(3, 30, 0)
        let newest = Set((keeper.answer(KeeperMessage(operation: .list), Data()).0.pieces ?? []).map { "\($0.attempt)/\($0.step)/\($0.rank)" })
        #expect(newest == ["2/14/1", "3/25/0", "3/30/0"], "\(newest)")
        let dropped = held.first { $0.attempt == 1 }!
        #expect(keeper.answer(KeeperMessage(operation: .get, piece: dropped), Data()).0.error == "no such piece")
    }

    /// A rank sends to its own host's keeper and the next host's; on one host, once.
    @Test func aRankSendsToItsHostsKeeperAndTheNext() {
        let keepers = (0..<3).map { KeeperAddress(index: $0, host: "node\($0)", addresses: ["10.0.0.\($0)"], port: 1, pid: 1) }
        #expect(MemorySnapshotSender.targets(keepers, host: "node1").map(\.index) == [1, 2])
        #expect(MemorySnapshotSender.targets(keepers, host: "node2").map(\.index) == [2, 0])
        #expect(MemorySnapshotSender.targets([keepers[0]], host: "node0").map(\.index) == [0])
        #expect(MemorySnapshotSender.targets([], host: "node0").isEmpty)
    }
}
