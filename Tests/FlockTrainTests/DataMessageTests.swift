import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// Messages for data as users have it.
@Suite struct DataMessageTests {
    @Test func labelsFromOneToKSayWhyTheyNeedKPlusOneOutputs() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let rows = (0..<30).map { "\(Double($0) / 10),\($0 % 3 + 1)" }
        let csv = try folder.write("one-based.csv", "x,label\n" + rows.joined(separator: "\n") + "\n")
        let config = try ConfigLoader.decode(yaml: """
            data: {source: \(csv.path), label_column: label, batch_size: 8}
            model: [{type: dense, units: 3}]
            """, baseDirectory: "/")
        let error = #expect(throws: ConfigError.self) { _ = try Trainer(config: config) }
        #expect(error?.description.contains("the model outputs 3 values per sample but loss 'cross_entropy' on this data needs 4 (4 classes); the labels run from 1 to 3 and classes are numbered from 0") == true,
                "\(String(describing: error))")
    }
}
