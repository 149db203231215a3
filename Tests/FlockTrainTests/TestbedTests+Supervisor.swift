import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// A supervised job (`flock train --np 4 --hostfile`) on the test bed's 2 hosts × 2 ranks,
/// started outside the hosts (`cluster/testbed run --launcher`), as on a cluster's login node.
extension TestbedTests {
    func summaryRestarts(_ run: URL) throws -> [[String: Any]] {
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as? [String: Any]
        return summary?["restarts"] as? [[String: Any]] ?? []
    }

    /// Rank 3 (host 1) dies at step 25: both hosts still answer the probe, so the job comes
    /// back on 4 ranks from its step-20 checkpoint and completes.
    @Test func aRankKilledOnOneHostIsRelaunchedOnBothHosts() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 2)
        let run = folder.url.appendingPathComponent("run")
        let outcome = try testbed(["--ranks-per-host", "2", "--launcher"],
                                  ["train", config.path, "--np", "4", "--hostfile", "{hostfile}", "--run-dir", run.path,
                                   "--set", "elastic.snapshot_every_steps=10"],
                                  timeout: 180, environment: ["FLOCK_FAULT_KILL": "3:25"])
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        let restarts = try summaryRestarts(run)
        #expect(restarts.count == 1, "\(restarts)")
        #expect((restarts.first?["cause"] as? String)?.contains("-h1 exited on signal 9") == true, "\(restarts)")
        #expect(restarts.first?["ranks_after"] as? Int == 4 && restarts.first?["steps_lost"] as? Int == 5, "\(restarts)")
        #expect(try leftovers() == [])
    }

    /// Ten ranks, drawn at random (seeded), each kill itself at a random step of its launch: the
    /// job heals ten times on both hosts and ends with the validation accuracy of an
    /// uninterrupted job (within 0.005; with no dropout and the same layout it is the same).
    @Test func tenRandomKillsInOneJobEndAsAnUninterruptedJob() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 6)  // 30 steps an epoch
        var random = SeededRandom(seed: 30)
        let kills = (0..<10).map { k in "\(random.below(4)):\(15 + 14 * k + random.below(5))" }
        let run = folder.url.appendingPathComponent("run"), reference = folder.url.appendingPathComponent("reference")
        let outcome = try testbed(["--ranks-per-host", "2", "--launcher"],
                                  ["train", config.path, "--np", "4", "--hostfile", "{hostfile}", "--run-dir", run.path,
                                   "--set", "elastic.snapshot_every_steps=10", "--max-restarts", "10"],
                                  timeout: 300, environment: ["FLOCK_FAULT_KILL": kills.joined(separator: ",")])
        #expect(!outcome.timedOut && outcome.status == 0, "\(kills) \(outcome.output)")
        let restarts = try summaryRestarts(run)
        #expect(restarts.count == 10 && restarts.allSatisfy { $0["ranks_after"] as? Int == 4 }, "\(kills) \(restarts)")
        let uninterrupted = try ChildProcess.flock(["train", config.path, "--ranks", "4", "--run-dir", reference.path])
        #expect(uninterrupted.status == 0, "\(uninterrupted.output)")
        func accuracy(_ run: URL) throws -> Double? {
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as? [String: Any]
            return (summary?["final"] as? [String: Any])?["val_accuracy"] as? Double
        }
        let healed = try accuracy(run), expected = try accuracy(reference)
        #expect(healed != nil && expected != nil && abs(healed! - expected!) <= 0.005, "\(String(describing: healed)) vs \(String(describing: expected))")
        #expect(try leftovers() == [])
    }

    /// Host 1 is lost silently (its processes killed, its links down): mpirun waits on its
    /// daemon forever, so the supervisor's stall watch ends the launch; host 1 no longer
    /// answers, and the job goes on with host 0's 2 ranks and completes.
    @Test func aLostHostLeavesTheJobToTheOtherHost() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // 1,200 steps: far from done 4 s in on a quiet machine (~125 steps/s here); a host lost
        // before the first step is healed the same way.
        let config = try writeConfig(folder, epochs: 40)
        let run = folder.url.appendingPathComponent("run")
        let outcome = try testbed(["--ranks-per-host", "2", "--launcher", "--lose-host-after", "4"],
                                  ["train", config.path, "--np", "4", "--hostfile", "{hostfile}", "--run-dir", run.path,
                                   "--set", "elastic.snapshot_every_steps=10", "--set", "elastic.stall_seconds=10"],
                                  timeout: 240)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains("testbed: lost host 1"), "\(outcome.output)")
        let restarts = try summaryRestarts(run)
        #expect(restarts.count == 1, "\(restarts)")
        #expect((restarts.first?["cause"] as? String)?.contains("elastic.stall_seconds 10") == true, "\(restarts)")
        #expect(restarts.first?["ranks_before"] as? Int == 4 && restarts.first?["ranks_after"] as? Int == 2, "\(restarts)")
        #expect(try leftovers() == [])
    }

    /// Each host has its own /dev/shm: a file one host makes there, the other does not see.
    @Test func eachHostHasItsOwnSharedMemoryFolder() throws {
        let outcome = try ChildProcess.run(Self.testbed, ["run", "--hosts", "2", "--link", "1gbit", "--", "/bin/sh", "-c",
                                                          "touch /dev/shm/flock-mark-$(hostname); sleep 1; ls /dev/shm | grep flock-mark-"],
                                           timeout: 60, stopSignal: SIGTERM)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        let marks = outcome.standardOutput.split(separator: "\n").filter { $0.hasPrefix("flock-mark-") }
        #expect(marks.count == 2 && Set(marks).count == 2, "\(outcome.standardOutput)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").filter { $0.hasPrefix("flock-mark-") } == [])
    }
}
