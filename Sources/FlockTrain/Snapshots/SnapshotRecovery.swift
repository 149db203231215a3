import Foundation

/// A supervisor's restart from memory: the newest step whose every rank's piece some
/// surviving keeper holds (the owner's host's copy, or its buddy's when that host is
/// gone), fetched and written out as an ordinary checkpoint folder (`snapshot-step-N`,
/// atomically, `last` moved to it, as `Checkpoint.write` does), so the relaunch resumes
/// from it with `--resume` like from any checkpoint.
enum SnapshotRecovery {
    /// One complete snapshot: launch `attempt`'s `step`, and for each rank the keepers
    /// holding its piece.
    struct Candidate {
        var attempt: Int
        var step: Int
        var holders: [Int: [(keeper: KeeperAddress, key: SnapshotPiece.Key)]]
    }

    /// What was restored: the step, and the hosts whose keepers gave the pieces.
    struct Restored {
        var step: Int
        var hosts: [String]
    }

    /// The complete snapshots `keepers` hold together, newest first.
    static func candidates(_ keepers: [KeeperAddress], log: (String) -> Void) -> [Candidate] {
        var found: [String: Candidate] = [:]
        var worlds: [String: Int] = [:]
        for keeper in keepers {
            let pieces: [SnapshotPiece.Key]
            do { pieces = try keeper.ask(KeeperMessage(operation: .list), timeout: 5).message.pieces ?? [] } catch {
                log("supervisor: warning: the snapshot keeper on \(keeper.host) does not list its pieces: \(error)")
                continue
            }
            for key in pieces {
                let id = "\(key.attempt)/\(key.step)/\(key.world)"
                worlds[id] = key.world
                found[id, default: Candidate(attempt: key.attempt, step: key.step, holders: [:])].holders[key.rank, default: []].append((keeper, key))
            }
        }
        return found.filter { id, candidate in Set(candidate.holders.keys) == Set(0..<(worlds[id] ?? 0)) }.values
            .sorted { ($0.step, $0.attempt) > ($1.step, $1.attempt) }
    }

    /// Writes the newest complete snapshot newer than step `newerThan` into `checkpoints`;
    /// nil when there is none (or none could be fetched whole): the caller falls back to disk.
    static func restore(from keepers: [KeeperAddress], newerThan diskStep: Int?, into checkpoints: URL,
                        log: (String) -> Void) -> Restored? {
        for candidate in candidates(keepers, log: log) where candidate.step > (diskStep ?? -1) {
            do {
                return try write(candidate, into: checkpoints)
            } catch {
                log("supervisor: warning: the memory snapshot of step \(candidate.step) cannot be used: \(error)")
            }
        }
        return nil
    }

    private static func write(_ candidate: Candidate, into checkpoints: URL) throws -> Restored {
        var files: [String: Data] = [:]
        var hosts: Set<String> = []
        for rank in candidate.holders.keys.sorted() {
            let (pieceFiles, host) = try fetch(candidate.holders[rank]!, rank: rank)
            files.merge(pieceFiles) { first, _ in first }
            hosts.insert(host)
        }
        guard let stateData = files.removeValue(forKey: "state.json"), let config = files.removeValue(forKey: "config.yaml") else {
            throw KeeperSocket.Failure(message: "rank 0's piece has no state.json or config.yaml")
        }
        let state = try TrainingState.decoded(from: stateData)
        try FileWriter.createDirectory(checkpoints)
        let name = String(format: "snapshot-step-%08d", candidate.step)
        try Checkpoint.write(name: name, in: checkpoints, files: files.mapValues(CheckpointFile.bytes),
                             configYAML: String(decoding: config, as: UTF8.self), state: state)
        // Only the newest written-out snapshot is kept; the disk policy keeps the others.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        for other in names where other.hasPrefix("snapshot-step-") && other != name {
            try? FileManager.default.removeItem(at: checkpoints.appendingPathComponent(other))
        }
        return Restored(step: candidate.step, hosts: hosts.sorted())
    }

    /// Rank `rank`'s piece from the first of its holders that gives it whole.
    private static func fetch(_ holders: [(keeper: KeeperAddress, key: SnapshotPiece.Key)], rank: Int) throws -> ([String: Data], String) {
        var reasons: [String] = []
        for (keeper, key) in holders {
            do {
                let answer = try keeper.ask(KeeperMessage(operation: .get, piece: key), timeout: 10)
                return (try SnapshotPiece(key: key, payload: answer.payload).files(), keeper.host)
            } catch { reasons.append("\(error)") }
        }
        throw KeeperSocket.Failure(message: "rank \(rank)'s piece: \(reasons.joined(separator: "; "))")
    }
}
