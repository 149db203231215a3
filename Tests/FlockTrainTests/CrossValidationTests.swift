import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

@Suite struct CrossValidationTests {
    @Test func kFoldTrainsEachFoldAndReportsTheSpread() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("cv.yaml", """
            seed: 2
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
            optimizer: {name: adam, lr: 0.01}
            """)
        let run = folder.url.appendingPathComponent("cv")
        let outcome = try ChildProcess.flock(["train", config.path, "--kfold", "3", "--run-dir", run.path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("kfold.json"))) as! [String: Any]
        let accuracy = (report["metrics"] as! [String: Any])["val_accuracy"] as! [String: Any]
        let values = accuracy["values"] as! [Double]
        #expect(report["folds"] as? Int == 3 && values.count == 3)
        #expect(abs((accuracy["mean"] as! Double) - values.reduce(0, +) / 3) < 1e-12)
        // Each fold validated on its own third: 599 samples (1797 / 3).
        for fold in 0..<3 {
            let yaml = try String(contentsOf: run.appendingPathComponent("fold-\(fold)/config.yaml"), encoding: .utf8)
            #expect(yaml.contains("index: \(fold)") && yaml.contains("count: 3"), "\(yaml)")
        }
        #expect(outcome.standardOutput.contains("3-fold cross-validation") && outcome.standardOutput.contains("val_accuracy"))
        let bad = try ChildProcess.flock(["train", config.path, "--kfold", "1"])
        #expect(bad.status != 0 && bad.standardError.contains("--kfold: expected at least 2 folds"), "\(bad.standardError)")
    }
}
