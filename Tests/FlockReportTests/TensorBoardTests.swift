import FlockTestSupport
import Foundation
import Testing
@testable import FlockReport
@testable import FlockTrain

/// TensorBoard event files: the framing checksums against published values, and a real
/// training run's files read back by TensorBoard's own reader.
@Suite struct TensorBoardTests {
    /// Test vectors of RFC 3720, appendix B.4 (iSCSI's CRC-32C), and the classic check value.
    @Test func crc32cMatchesPublishedCheckValues() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0...31 as ClosedRange<UInt8>)) == 0x46DD_794E)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func aRecordIsLengthItsChecksumTheDataAndItsChecksum() {
        let framed = TFRecordFraming.frame(Array("abc".utf8))
        #expect(framed.count == 8 + 4 + 3 + 4)
        #expect(Array(framed[0..<8]) == [3, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(framed[12..<15]) == Array("abc".utf8))
        // Masking: rotate right 15, add 0xa282ead8 (TensorFlow's crc32c.h), from the CRC of the bytes.
        let crc = CRC32C.checksum(Array("abc".utf8))
        let masked = ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
        #expect(Array(framed[15..<19]) == [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: masked >> $0) })
    }

    @Test(.enabled(if: TensorBoardPython.shared.canReachPyPI, "skipped: pip cannot reach PyPI to install tensorboard"),
          .hangLimit)
    func tensorBoardsEventAccumulatorReadsATrainingRunsScalars() throws {
        let python = try TensorBoardPython.shared.executable()
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try ReportFixtures.train(folder, name: "tb", """
            epochs: 3
            optimizer: {name: momentum, lr: 0.05}
            callbacks: {tensorboard: true}
            """)
        let script = try folder.write("read.py", """
            import json, sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            accumulator = EventAccumulator(sys.argv[1])
            accumulator.Reload()
            tags = accumulator.Tags()["scalars"]
            print(json.dumps({tag: [[event.step, event.value] for event in accumulator.Scalars(tag)] for tag in tags}))
            """)
        let outcome = try ChildProcess.run(python, [script.path, run.path], timeout: 120)
        try #require(outcome.status == 0, "\(outcome.output)")
        let scalars = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as! [String: [[Double]]]
        let lines = RunLoader.epochs(jsonl: try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8))
        try #require(lines.count == 3)
        for (tag, column) in [("loss/train", "loss"), ("loss/validation", "val_loss"), ("accuracy/validation", "val_accuracy"),
                              ("learning_rate", "lr"), ("samples_per_second", "samples_per_second")] {
            let read = try #require(scalars[tag], "no \(tag) in \(scalars.keys.sorted())")
            #expect(read.map { Int($0[0]) } == [1, 2, 3], "\(tag) steps")
            for (event, line) in zip(read, lines) {
                // Stored as float32 (simple_value), so equal to the JSONL value within float precision.
                let expected = line.values[column]!
                #expect(abs(event[1] - expected) <= 1e-6 * max(1, abs(expected)), "\(tag) epoch \(line.epoch): \(event[1]) vs \(expected)")
            }
        }
    }
}

/// A Python with TensorBoard installed from PyPI into a virtual environment under
/// `.build/` (made once, reused by later runs).
enum TensorBoardPython {
    static let shared = PipEnvironment(name: "tensorboard-venv", packages: ["tensorboard"], check: "import tensorboard")
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
