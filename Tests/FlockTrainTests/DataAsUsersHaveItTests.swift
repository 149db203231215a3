import FlockData
import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// CSV files as users have them, end to end: class names, quoting, column order, missing
/// cells — trained, saved with the model, and applied by `predict`.
@Suite struct DataAsUsersHaveItTests {
    /// 120 rows of two features and a class name; quoted as pandas writes (header included),
    /// one name with a comma in it.
    static func writeFile(_ folder: TemporaryFolder, name: String = "train.csv", missingCell: Bool = false) throws -> URL {
        var lines = ["\"x\",\"y\",\"species\""]
        var generator = RandomGenerator(seed: 4)
        for row in 0..<120 {
            let kind = row % 3
            let x = Float(kind) + generator.nextUniform(-0.3, 0.3), y = Float(2 - kind) + generator.nextUniform(-0.3, 0.3)
            let label = ["setosa", "versicolor", "virginica, var. b"][kind]
            let xText = missingCell && row == 7 ? "NA" : String(x)
            lines.append("\(xText),\(y),\"\(label)\"")
        }
        return try folder.write(name, lines.joined(separator: "\r\n") + "\r\n")
    }

    static func config(_ source: URL, extra: String = "") throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 1
            epochs: 30
            data: {source: \(source.path), label_column: species, batch_size: 16\(extra)}
            model: [{type: dense, units: 8, activation: relu}, {type: dense, units: 3}]
            optimizer: {name: adam, lr: 0.05}
            """, baseDirectory: "/")
    }

    @Test func classNamesRoundTripThroughTrainingAndPredict() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        let summary = try TrainingRun(config: try Self.config(try Self.writeFile(folder)), runDirectory: run.path).run()
        #expect(summary.final["val_accuracy"]! > 0.9)
        let predictor = try Predictor(path: run.path)
        #expect(predictor.preprocessing.classNames == ["setosa", "versicolor", "virginica, var. b"])
        #expect(predictor.preprocessing.featureColumns == ["x", "y"] && predictor.preprocessing.labelColumn == "species")
        // New rows: columns in another order, an extra column, no label.
        let new = try folder.write("new.csv", "note;y;x\nfirst;2.1;0.05\nsecond;-0.1;2.2\n".replacingOccurrences(of: ";", with: ","))
        let result = try predictor.predict(csv: new.path)
        #expect(result.labels == ["setosa", "virginica, var. b"])
        #expect(result.metrics == nil)
        // The CSV out quotes the name with a comma.
        let text = try Predictor.format(result, classNames: predictor.classNames, asJSONLines: false, probabilities: false)
        #expect(text == "prediction\nsetosa\n\"virginica, var. b\"\n")
        // Labels present: names mapped with the training classes; an unknown one is an error naming its line.
        let labelled = try folder.write("labelled.csv", "x,y,species\n0.1,1.9,setosa\n1.0,1.0,versicolor\n")
        #expect(try predictor.predict(csv: labelled.path).metrics?["accuracy"] == 1)
        let unknown = try folder.write("unknown.csv", "x,y,species\n0.1,1.9,setosa\n1.0,1.0,lily\n")
        let error = #expect(throws: DataError.self) { try predictor.predict(csv: unknown.path) }
        #expect("\(error!)".contains("unknown.csv:3") && "\(error!)".contains("lily"), "\(error!)")
    }

    @Test func missingCellsAreErrorsUnlessImputedWithTheTrainingMean() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let source = try Self.writeFile(folder, missingCell: true)
        let error = #expect(throws: DataError.self) { _ = try Trainer(config: try Self.config(source)) }
        #expect("\(error!)".contains("train.csv:9") && "\(error!)".contains("column x") && "\(error!)".contains("data.missing: mean"), "\(error!)")
        let run = folder.url.appendingPathComponent("run")
        _ = try TrainingRun(config: try Self.config(source, extra: ", missing: mean"), runDirectory: run.path).run()
        let predictor = try Predictor(path: run.path)
        let imputation = try #require(predictor.preprocessing.imputation)
        // The x column's mean over the training rows (classes 0, 1, 2 in equal parts: about 1).
        #expect(imputation.count == 2 && abs(imputation[0] - 1) < 0.2, "\(imputation)")
        let gap = try folder.write("gap.csv", "x,y\n,1.0\n\(imputation[0]),1.0\n")
        let result = try predictor.predict(csv: gap.path)
        #expect(result.outputs.scalars[0..<3] == result.outputs.scalars[3..<6], "a missing x predicts as the training mean")
    }

    @Test func textInARegressionLabelIsAnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let source = try folder.write("r.csv", "x,target\n1,2.5\n2,abc\n3,4.5\n4,5\n")
        let config = try ConfigLoader.decode(yaml: """
            data: {source: \(source.path), label_column: target, batch_size: 2}
            model: [{type: dense, units: 1}]
            loss: mse
            """, baseDirectory: "/")
        let error = #expect(throws: DataError.self) { _ = try Trainer(config: config) }
        #expect("\(error!)" == "\(source.path):3: column target: label 'abc' is not a number, but 3 of the 4 labels are numbers (line 2: '2.5');"
            + " a label column holds class numbers or class names, not both")
    }

    @Test func aSemicolonDelimiterIsAConfigOption() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let original = try String(contentsOf: try Self.writeFile(folder), encoding: .utf8)
        let semicolons = try folder.write("semi.csv", original.replacingOccurrences(of: ",\"", with: ";\"").replacingOccurrences(of: "\",", with: "\";")
            .split(separator: "\r\n").map { line in
                line.hasPrefix("\"") ? String(line) : line.replacingOccurrences(of: ",", with: ";", options: [], range: line.startIndex..<line.index(line.startIndex, offsetBy: line.firstIndex(of: "\"").map { line.distance(from: line.startIndex, to: $0) } ?? line.count))
            }.joined(separator: "\n") + "\n")
        let trainer = try Trainer(config: try Self.config(semicolons, extra: ", delimiter: \";\""))
        #expect(trainer.data.training.count + trainer.data.validation.count == 120)
        #expect(trainer.data.preprocessing.classNames?.count == 3)
        let bad = #expect(throws: ConfigError.self) { try Self.config(semicolons, extra: ", delimiter: \";;\"") }
        #expect(bad?.description.contains("data.delimiter: expected one character") == true)
    }
}
