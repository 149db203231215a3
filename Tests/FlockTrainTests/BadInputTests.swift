import FlockData
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Input a user can get wrong ends in an error naming the file, line, tensor or flag —
/// never in a trap — and a failed `flock train` leaves no run directory behind.
@Suite struct BadInputTests {
    /// A classification job on `csv` (header `a,label`), one epoch, run by `flock train`.
    func train(_ folder: TemporaryFolder, csv: String) throws -> (outcome: ChildProcess.Outcome, data: String, run: String) {
        let data = try folder.write("data.csv", csv).path
        let config = try folder.write("job.yaml", """
            epochs: 1
            data: {source: \(data), label_column: label, batch_size: 2, validation_split: 0}
            model: [{type: dense, units: 2}]
            """).path
        let run = folder.url.appendingPathComponent("run").path
        return (try ChildProcess.flock(["train", config, "--run-dir", run], timeout: 60), data, run)
    }

    @Test func aCSVWithOnlyALabelColumnNamesTheFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (outcome, data, run) = try train(folder, csv: "label\n0\n1\n")
        #expect(!outcome.timedOut && outcome.status == 1, "\(outcome.output)")
        #expect(outcome.standardError.contains("\(data): no feature columns"), "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: run))
    }

    @Test func aClassLabelBeyondAnIntIsAnErrorNamingFileAndLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // 1e19 > 2^63: converting it to a class index would trap.
        let (outcome, data, run) = try train(folder, csv: "a,label\n0.5,1\n0.25,1e19\n")
        #expect(!outcome.timedOut && outcome.status == 1, "\(outcome.output)")
        #expect(outcome.standardError.contains("\(data):3: label 1e+19: class labels must be below 16777216"),
                "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: run))
    }

    /// `TrainingData` on a CSV with one feature and `labels` as the label column.
    func loadLabels(_ labels: [String], loss: String = "cross_entropy") throws -> (error: DataError?, path: String) {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let rows = labels.enumerated().map { "\($0.offset),\($0.element)" }.joined(separator: "\n")
        let data = try folder.write("d.csv", "a,label\n\(rows)\n").path
        let config = try ConfigLoader.decode(yaml: """
            data: {source: \(data), label_column: label, validation_split: 0}
            model: [{type: dense, units: 2}]
            loss: \(loss)
            """, overrides: [], baseDirectory: "/")
        let error = #expect(throws: DataError.self) { _ = try TrainingData(config: config) }
        return (error, data)
    }

    @Test func negativeFractionalAndOutOfRangeLabelsNameTheirLine() throws {
        let negative = try loadLabels(["0", "-1"])
        #expect(negative.error == .invalidLabel(path: negative.path, line: 3, value: -1,
                                                reason: "cross_entropy needs non-negative integer class labels"))
        let fractional = try loadLabels(["0", "1", "2.5"])
        #expect(fractional.error == .invalidLabel(path: fractional.path, line: 4, value: 2.5,
                                                  reason: "cross_entropy needs non-negative integer class labels"))
        let huge = try loadLabels(["3e38", "0"])
        #expect(huge.error == .invalidLabel(path: huge.path, line: 2, value: 3e38, reason: "class labels must be below 16777216"))
        let binary = try loadLabels(["0", "1", "2"], loss: "binary_cross_entropy")
        #expect(binary.error == .invalidLabel(path: binary.path, line: 4, value: 2, reason: "binary_cross_entropy needs labels 0 or 1"))
    }

    @Test func nonFiniteLabelsInAnIDXFileNameTheSample() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        func idx(_ shape: [UInt32], _ values: [Float]) -> Data {
            var bytes: [UInt8] = [0, 0, 0x0D, UInt8(shape.count)]
            for dimension in shape { bytes += withUnsafeBytes(of: dimension.bigEndian) { Array($0) } }
            for value in values { bytes += withUnsafeBytes(of: value.bitPattern.bigEndian) { Array($0) } }
            return Data(bytes)
        }
        let images = folder.url.appendingPathComponent("images.idx"), labels = folder.url.appendingPathComponent("labels.idx")
        try idx([3, 2], [1, 2, 3, 4, 5, 6]).write(to: images)
        for bad in [Float.infinity, Float.nan] {
            try idx([3], [0, 1, bad]).write(to: labels)
            let config = try ConfigLoader.decode(yaml: """
                data: {source: \(images.path), labels: \(labels.path), validation_split: 0}
                model: [{type: dense, units: 2}]
                """, overrides: [], baseDirectory: "/")
            let error = #expect(throws: DataError.self) { _ = try TrainingData(config: config) }
            #expect(error?.description.hasPrefix("\(labels.path):3: label \(bad): ") == true, "\(String(describing: error))")
        }
    }
}

/// Corrupt safetensors headers: each names the file and the tensor.
@Suite struct SafeTensorsHeaderTests {
    /// A file with `header` (JSON) and `dataBytes` zero bytes of data.
    func file(_ header: String, dataBytes: Int) -> Data {
        var json = Data(header.utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var length = UInt64(json.count).littleEndian
        var data = withUnsafeBytes(of: &length) { Data($0) }
        data.append(json)
        data.append(Data(count: dataBytes))
        return data
    }

    func reason(_ header: String, dataBytes: Int = 16) -> String? {
        let error = #expect(throws: SafeTensors.FormatError.self) {
            _ = try SafeTensors.decode(file(header, dataBytes: dataBytes), path: "m.safetensors")
        }
        #expect(error?.path == "m.safetensors")
        return error?.reason
    }

    @Test func aValidFileStillDecodes() throws {
        let tensors = try SafeTensors.decode(file(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, dataBytes: 16),
                                             path: "m.safetensors")
        #expect(tensors["w"]?.shape == [2, 2] && tensors["w"]?.scalars == [0, 0, 0, 0])
    }

    @Test func negativeDimension() {
        // [-1] with offsets [4, 0] passes a size-only check (0 - 4 == -1 · 4).
        #expect(reason(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[4,0]}}"#)
                == "tensor w: shape [-1] has a negative dimension")
        #expect(reason(#"{"w":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}}"#)
                == "tensor w: shape [-2, -2] has a negative dimension")
    }

    @Test func shapeWhoseSizeOverflows() {
        #expect(reason(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,16]}}"#)
                == "tensor w: shape [4294967296, 4294967296, 4] is too large")
    }

    @Test func offsetsOutOfRange() {
        for offsets in ["[8,24]", "[-4,12]", "[16,0]", "[9223372036854775791,9223372036854775807]"] {
            #expect(reason(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":\#(offsets)}}"#)?
                        .hasPrefix("tensor w: data_offsets [") == true, "\(offsets)")
        }
    }
}

/// `flock bench ddp`: bad flags are usage errors, and a rank that stops answering ends the
/// benchmark with an error naming it instead of a trap or a hang.
@Suite struct BenchmarkFailureTests {
    @Test(arguments: ["0", "-2"])
    func ranksBelowOneIsAUsageError(ranks: String) throws {
        let outcome = try ChildProcess.flock(["bench", "ddp", "--ranks=\(ranks)"], timeout: 60)
        #expect(!outcome.timedOut && outcome.status == 64, "\(outcome.output)")
        #expect(outcome.standardError.contains("--ranks: expected a positive integer, got \(ranks)"), "\(outcome.standardError)")
    }

    /// Under mpirun with a 50 ms collective deadline, a rank gives up waiting for its peer
    /// (at the latest in the first pair, while rank 0 times itself alone for tens of training
    /// steps): the job ends non-zero with the failing rank and operation named, not in a
    /// trap or a hang.
    @Test func aTimedOutRankUnderMPIRunEndsTheJobNamingIt() throws {
        let outcome = try ChildProcess.mpirun(["-n", "2", ChildProcess.flockExecutable.path, "bench", "ddp"], timeout: 60,
                                              environment: ["FLOCK_COLLECTIVE_TIMEOUT": "0.05"])
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome.output)")
        let named = (0..<2).contains { rank in
            ["broadcast", "allreduce", "barrier"].contains { outcome.standardError.contains("error: rank \(rank): \($0) on rank \(rank)") }
        }
        #expect(named, "\(outcome.standardError)")
        #expect(outcome.standardError.contains("timed out"))
        #expect(!outcome.output.contains("Fatal error"))
    }

    /// `flock bench allreduce` likewise: rank 0 times the local backend alone while rank 1
    /// waits for it in a broadcast.
    @Test func allreduceBenchmarkEndsTheJobNamingATimedOutRank() throws {
        let outcome = try ChildProcess.mpirun(["-n", "2", ChildProcess.flockExecutable.path, "bench", "allreduce"], timeout: 60,
                                              environment: ["FLOCK_COLLECTIVE_TIMEOUT": "0.05"])
        #expect(!outcome.timedOut && outcome.status != 0, "\(outcome.output)")
        #expect(outcome.standardError.contains("error: rank "), "\(outcome.standardError)")
        #expect(outcome.standardError.contains("timed out"))
        #expect(!outcome.output.contains("Fatal error"))
    }
}
