import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// `flock train` across simulated machines: `cluster/testbed` puts each rank in its own
/// network namespace behind a shaped veth link, so ranks talk over TCP as on a cluster.
/// Needs root (network namespaces); every run is a child process under a timeout, stopped
/// with SIGTERM so the test bed can tear itself down.
@Suite(.serialized, .enabled(if: getuid() == 0, "cluster/testbed needs root to create network namespaces"))
struct TestbedTests {
    static let testbed = ChildProcess.repositoryRoot.appendingPathComponent("cluster/testbed")

    func writeConfig(_ folder: TemporaryFolder, epochs: Int) throws -> URL {
        try folder.write("ddp.yaml", """
            seed: 5
            epochs: \(epochs)
            data: {source: \(DataParallelTests.digits), label_column: label, batch_size: 48}
            model:
              - {type: dense, units: 32, activation: tanh}
              - {type: dense, units: 10}
            optimizer: {name: momentum, lr: 0.05}
            """)
    }

    /// `cluster/testbed run --hosts 2 --link 1gbit OPTIONS -- flock ARGUMENTS`.
    func testbed(_ options: [String], _ arguments: [String], timeout: TimeInterval,
                 environment: [String: String] = [:]) throws -> ChildProcess.Outcome {
        try ChildProcess.run(Self.testbed, ["run", "--hosts", "2", "--link", "1gbit"] + options + ["--", ChildProcess.flockExecutable.path] + arguments,
                             timeout: timeout, environment: environment, stopSignal: SIGTERM)
    }

    func weights(_ runDirectory: URL) throws -> [Float] {
        let tensors = try SafeTensors.read(runDirectory.appendingPathComponent("model.safetensors"))
        return tensors.keys.sorted().flatMap { tensors[$0]!.scalars }
    }

    /// Namespaces, links and processes a test bed left behind (none when it tore down).
    func leftovers() throws -> [String] {
        let namespaces = try ChildProcess.run(URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "list"], timeout: 10).standardOutput
        let links = try ChildProcess.run(URL(fileURLWithPath: "/usr/sbin/ip"), ["-o", "link"], timeout: 10).standardOutput
        var found = namespaces.split(separator: "\n").filter { $0.hasPrefix("flock-tb") }.map { "namespace \($0)" }
        found += links.split(separator: "\n").filter { $0.range(of: #": fk[0-9]+(br|h[0-9]+)"#, options: .regularExpression) != nil }
            .map { "link \($0)" }
        // mpirun's command line names the test bed's hostfile.
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int(entry) != nil {
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let commandLine = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
            if commandLine.contains("/tmp/flock-testbed.") { found.append("process \(entry): \(commandLine)") }
        }
        return found
    }

    @Test func twoHostsTrainAsTwoLocalRanks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 2)
        let local = folder.url.appendingPathComponent("local"), hosts = folder.url.appendingPathComponent("hosts")
        let threads = try ChildProcess.flock(["train", config.path, "--ranks", "2", "--run-dir", local.path])
        #expect(threads.status == 0, "\(threads.standardError)")
        let outcome = try testbed([], ["train", config.path, "--run-dir", hosts.path], timeout: 120)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        #expect(outcome.standardError.contains("testbed: 2 hosts x 1 ranks, link 1gbit"), "\(outcome.standardError)")
        // The same code path over TCP between namespaces: bit-identical weights.
        #expect(try weights(local) == weights(hosts))
        #expect(try leftovers() == [])
    }

    @Test func benchAllreduceReportsHostsAndRanks() throws {
        let outcome = try ChildProcess.run(Self.testbed, ["run", "--hosts", "2", "--ranks-per-host", "2", "--link", "10gbit", "--",
                                                          ChildProcess.flockExecutable.path, "bench", "allreduce", "--json", "--sizes", "4194304",
                                                          "--repeat", "1"],
                                           timeout: 120, stopSignal: SIGTERM)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        let line = outcome.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["hosts"] as? Int == 2, "\(line)")
        #expect(object?["ranks"] as? Int == 4, "\(line)")
        // Two ranks per host share memory; the four together do not.
        #expect(outcome.standardOutput.contains("allreduce, 4 ranks, shared memory false"), "\(outcome.standardOutput)")
        #expect(try leftovers() == [])
    }

    /// Across hosts an allreduce of ≥ 256 KB is the pairwise exchange; `collectives` checks
    /// every operation at 1,000,003 elements (blocks of unequal length) against rank-order sums.
    @Test func collectivesAcrossTwoHostsOfTwoRanksMatchTheReference() throws {
        let outcome = try ChildProcess.run(Self.testbed, ["run", "--hosts", "2", "--ranks-per-host", "2", "--link", "10gbit", "--",
                                                          ChildProcess.built("flock-mpi-check").path, "collectives"],
                                           timeout: 120, stopSignal: SIGTERM)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        for rank in 0..<4 { #expect(outcome.output.contains("rank \(rank): ok "), "\(outcome.output)") }
        #expect(outcome.output.contains("shared memory false"), "\(outcome.output)")
        #expect(try leftovers() == [])
    }

    /// With two ranks per host, large allreduces reduce inside each host and pass partial sums
    /// between the host leaders: `hierarchical` checks the result equals the flat path's and the
    /// rank-order sum bit for bit at odd sizes, and bf16/fp16 with error feedback. Three
    /// hosts put a leader in the middle of the chain (it adds and forwards up, and relays the
    /// result down).
    @Test(arguments: [2, 3])
    func hierarchicalAllreduceEqualsTheFlatOneOnOddSizes(hosts: Int) throws {
        let outcome = try ChildProcess.run(Self.testbed, ["run", "--hosts", "\(hosts)", "--ranks-per-host", "2", "--link", "10gbit", "--",
                                                          ChildProcess.built("flock-mpi-check").path, "hierarchical"],
                                           timeout: 120, stopSignal: SIGTERM)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        for rank in 0..<(2 * hosts) { #expect(outcome.output.contains("rank \(rank): ok "), "\(outcome.output)") }
        #expect(outcome.output.contains("hosts \(hosts), hierarchical true"), "\(outcome.output)")
        #expect(try leftovers() == [])
    }

    /// bf16 gradients between the hosts (error feedback on) train to the accuracy of the
    /// same 2 × 2 job in Float32, and the weights show compression was on (the uncompressed
    /// job repeats its own weights exactly: same layout, same reduction order).
    @Test func bf16CompressedGradientsTrainAsWellAsFloat32() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 6)
        func train(_ name: String, _ extra: [String]) throws -> URL {
            let run = folder.url.appendingPathComponent(name)
            let outcome = try ChildProcess.run(Self.testbed, ["run", "--hosts", "2", "--ranks-per-host", "2", "--link", "1gbit", "--",
                                                              ChildProcess.flockExecutable.path, "train", config.path, "--run-dir", run.path]
                                                             + extra, timeout: 120, stopSignal: SIGTERM)
            #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
            return run
        }
        let float32 = try train("float32", []), bf16 = try train("bf16", ["--set", "parallel.compression=bf16"])
        let uncompressed = try validationAccuracy(float32), compressed = try validationAccuracy(bf16)
        #expect(uncompressed > 0.85 && abs(compressed - uncompressed) <= 0.03, "val_accuracy bf16 \(compressed), float32 \(uncompressed)")
        #expect(try weights(float32) != weights(bf16))
        #expect(try leftovers() == [])
    }

    func validationAccuracy(_ runDirectory: URL) throws -> Double {
        let data = try Data(contentsOf: runDirectory.appendingPathComponent("summary.json"))
        let summary = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (summary?["final"] as? [String: Any])?["val_accuracy"] as? Double ?? -1
    }

    @Test func aKilledRankOnOneHostEndsTheJobOnTheOther() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Long enough to be running when host 1's rank is killed 5 s in.
        let config = try writeConfig(folder, epochs: 400)
        let outcome = try testbed(["--kill-after", "5"], ["train", config.path, "--run-dir", folder.url.appendingPathComponent("run").path],
                                  timeout: 60)
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome.output)")
        #expect(outcome.output.contains("killed flock"), "\(outcome.output)")
        #expect(outcome.output.contains("rank 1 with PID"), "\(outcome.output)")
        #expect(outcome.output.contains("exited on signal 9"), "\(outcome.output)")
        #expect(try leftovers() == [])
    }

    @Test func aPartitionedLinkEndsTheJobWithANamedTimeout() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 400)
        let outcome = try testbed(["--partition-after", "5"], ["train", config.path, "--run-dir", folder.url.appendingPathComponent("run").path],
                                  timeout: 60, environment: ["FLOCK_COLLECTIVE_TIMEOUT": "3"])
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome.output)")
        #expect(outcome.output.contains("partitioned host 1"), "\(outcome.output)")
        #expect(outcome.output.contains("timed out after 3 s waiting for peers"), "\(outcome.output)")
        #expect(try leftovers() == [])
    }

    @Test func aFailingJobLeavesNothingBehind() throws {
        let outcome = try testbed([], ["train", "/nonexistent/config.yaml"], timeout: 60)
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome.output)")
        #expect(outcome.output.contains("/nonexistent/config.yaml"), "\(outcome.output)")
        #expect(try leftovers() == [])
    }

    @Test func anInterruptedTestbedLeavesNothingBehind() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 400)
        // Stopped with SIGTERM at the deadline, mid-training.
        let outcome = try testbed([], ["train", config.path, "--run-dir", folder.url.appendingPathComponent("run").path], timeout: 8)
        #expect(outcome.timedOut, "\(outcome.output)")
        #expect(outcome.standardError.contains("testbed: interrupted; tearing down"), "\(outcome.standardError)")
        #expect(try leftovers() == [])
    }
}
