import Foundation
import Testing
@testable import FlockData

/// Class-name labels, fixed class names and feature columns, optional labels, missing values.
@Suite struct CSVContentsTests {
    @Test func numericLabelsStayNumbers() throws {
        let contents = try CSVReader().parseContents("x,y\n1,2.5\n2,-1\n", path: "n.csv")
        #expect(contents.targets?.scalars == [2.5, -1])
        #expect(contents.classNames == nil)
    }

    @Test func classNameLabelsAreSortedAndMapped() throws {
        let text = "x,species\n1,versicolor\n2,setosa\n3,virginica\n4,setosa\n5,Iris-10\n"
        let contents = try CSVReader().parseContents(text, path: "iris.csv")
        #expect(contents.classNames == ["Iris-10", "setosa", "versicolor", "virginica"])
        #expect(contents.targets?.scalars == [2, 1, 3, 1, 0])
        #expect(try CSVReader().parse(text, path: "iris.csv").targets.scalars == [2, 1, 3, 1, 0])
    }

    /// A text cell among class numbers would become one more class (and the error would
    /// blame the model's output size); a number among class names, one more name.
    @Test func aLabelColumnMixingNumbersAndNamesIsAnErrorAtTheFirstOddCell() throws {
        let numbers = #expect(throws: DataError.self) {
            try CSVReader(labelColumn: .name("label")).parseContents("x,label\n1,0\n2,1\n3,cat\n4,2\n5,dog\n", path: "m.csv")
        }
        #expect(numbers?.description == "m.csv:4: column label: label 'cat' is not a number, but 3 of the 5 labels are numbers"
            + " (line 2: '0'); a label column holds class numbers or class names, not both")
        let names = #expect(throws: DataError.self) {
            try CSVReader().parse("x,species\n1,setosa\n2,10\n3,virginica\n", path: "iris.csv")
        }
        #expect(names?.description == "iris.csv:3: column species: label '10' is a number, but 2 of the 3 labels are class names"
            + " (line 2: 'setosa'); a label column holds class numbers or class names, not both")
        // Streaming reads the label column the same way.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mixed-\(UUID().uuidString).csv")
        try "x,label\n1,0\n2,1\n3,cat\n4,2\n5,dog\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let streamed = #expect(throws: DataError.self) { try CSVRowBlocks(path: file.path, reader: CSVReader(), blockBytes: 8) }
        #expect(streamed?.description.hasPrefix("\(file.path):4: column label: label 'cat' is not a number") == true)
    }

    @Test func givenClassNamesFixTheMapping() throws {
        let reader = CSVReader(classNames: ["setosa", "versicolor", "virginica"])
        let contents = try reader.parseContents("x,species\n1,virginica\n2,setosa\n", path: "iris.csv")
        #expect(contents.targets?.scalars == [2, 0])
        #expect(contents.classNames == ["setosa", "versicolor", "virginica"])
    }

    @Test func givenNumericClassNamesMatchByValue() throws {
        let reader = CSVReader(classNames: ["1", "2", "3"])
        let contents = try reader.parseContents("x,y\n1,3\n2,1.0\n3,2\n", path: "k.csv")
        #expect(contents.targets?.scalars == [2, 0, 1])
    }

    @Test func unknownClassNameNamesFileLineAndKnownClasses() {
        let reader = CSVReader(classNames: ["benign", "malignant"])
        let error = #expect(throws: DataError.self) {
            try reader.parseContents("x,diagnosis\n1,benign\n2,unclear\n", path: "new.csv")
        }
        #expect(error == .unknownClass(path: "new.csv", line: 3, name: "unclear", known: ["benign", "malignant"]))
        #expect(error?.description == "new.csv:3: label 'unclear' is not one of the 2 known classes (benign, malignant)")
    }

    @Test func featureColumnsAreReorderedByNameAndExtraColumnsIgnored() throws {
        let reader = CSVReader(labelColumn: .name("y"), featureColumns: ["a", "b", "c"])
        let contents = try reader.parseContents("id,c,y,a,b\n7,3,0,1,2\n8,6,1,4,5\n", path: "f.csv")
        #expect(contents.featureColumns == ["a", "b", "c"])
        #expect(contents.features.scalars == [1, 2, 3, 4, 5, 6])
        #expect(contents.targets?.scalars == [0, 1])
    }

    @Test func missingFeatureColumnIsNamed() {
        let reader = CSVReader(labelColumn: .name("y"), featureColumns: ["a", "b", "c"])
        #expect(throws: DataError.unknownColumn(path: "f.csv", column: "c", available: ["a", "b", "y"])) {
            try reader.parseContents("a,b,y\n1,2,0\n", path: "f.csv")
        }
    }

    @Test func labelColumnIsOptionalWhenAllowed() throws {
        let text = "a,b\n1,2\n3,4\n"
        let contents = try CSVReader(labelColumn: .name("y"), labelOptional: true).parseContents(text, path: "p.csv")
        #expect(contents.targets == nil && contents.labelColumn == nil && contents.dataset == nil)
        #expect(contents.featureColumns == ["a", "b"])
        #expect(contents.features.scalars == [1, 2, 3, 4])
        #expect(throws: DataError.unknownColumn(path: "p.csv", column: "y", available: ["a", "b"])) {
            try CSVReader(labelColumn: .name("y")).parseContents(text, path: "p.csv")
        }
        #expect(throws: DataError.unknownColumn(path: "p.csv", column: "y", available: ["a", "b"])) {
            try CSVReader(labelColumn: .name("y"), labelOptional: true).parse(text, path: "p.csv")
        }
    }

    @Test func headerlessFileOfFeaturesOnlyHasNoLabel() throws {
        let reader = CSVReader(hasHeader: false, featureColumns: ["0", "1"], labelOptional: true)
        let unlabelled = try reader.parseContents("1,2\n3,4\n", path: "h.csv")
        #expect(unlabelled.targets == nil)
        let labelled = try reader.parseContents("1,2,1\n3,4,0\n", path: "h.csv")
        #expect(labelled.targets?.scalars == [1, 0] && labelled.labelColumn == "2")
        #expect(labelled.features.scalars == [1, 2, 3, 4])
    }

    @Test func requiredLabelThatIsAlsoAFeatureIsRejected() {
        let reader = CSVReader(labelColumn: .name("b"), featureColumns: ["a", "b"])
        #expect(throws: DataError.labelAmongFeatures(path: "f.csv", column: "b")) {
            try reader.parseContents("a,b\n1,2\n", path: "f.csv")
        }
    }

    @Test func missingCellsAreNaNAndRecorded() throws {
        let text = "a,b,y\n1,NA,0\n,2,1\n3,?,0\n4, null ,1\n5,6,1\n"
        let contents = try CSVReader().parseContents(text, path: "m.csv")
        #expect(contents.missing == [CSVCell(line: 2, column: "b"), CSVCell(line: 3, column: "a"),
                                     CSVCell(line: 4, column: "b"), CSVCell(line: 5, column: "b")])
        let features = contents.features.scalars
        #expect(features.indices.filter { features[$0].isNaN } == [1, 2, 5, 7])
        #expect(features[8...] == [5, 6])
    }

    @Test func missingMarkersCanBeChanged() throws {
        let reader = CSVReader(missingMarkers: ["-"])
        let contents = try reader.parseContents("a,y\n-,0\n", path: "m.csv")
        #expect(contents.missing == [CSVCell(line: 2, column: "a")])
        #expect(throws: DataError.nonNumeric(path: "m.csv", line: 2, column: "a", text: "NA")) {
            try reader.parseContents("a,y\nNA,0\n", path: "m.csv")
        }
    }

    @Test func readThrowsAtTheFirstMissingCell() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("flock-missing-\(UUID()).csv").path
        try "a,b,y\n1,2,0\n3,NA,1\n,5,0\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: DataError.self) { try CSVReader().read(path: path) }
        #expect(error == .missingValue(path: path, line: 3, column: "b"))
        #expect(error?.description.contains("\(path):3: column b: missing value; set `data.missing: mean`") == true)
        #expect(try CSVReader().readContents(path: path).missing.count == 2)
    }

    @Test func latin1FileIsReportedAsNotUTF8() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("flock-latin1-\(UUID()).csv").path
        try Data("caf\u{E9},y\n1,0\n".data(using: .isoLatin1)!).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: DataError.self) { try CSVReader().readContents(path: path) }
        #expect(error?.description.hasPrefix("\(path): cannot read: not UTF-8 text") == true)
    }

    @Test func emptyLabelIsAnErrorNamingTheLine() {
        #expect(throws: DataError.missingLabel(path: "l.csv", line: 3, column: "y")) {
            try CSVReader().parseContents("a,y\n1,cat\n2,\n", path: "l.csv")
        }
    }

    @Test func nonFiniteNumericLabelIsRejected() {
        let error = #expect(throws: DataError.self) { try CSVReader().parseContents("a,y\n1,2\n2,inf\n", path: "l.csv") }
        #expect(error?.description == "l.csv:3: label inf: not a finite number")
    }

    @Test func unknownColumnListsEveryColumnUpToTwoHundred() {
        let names = (0..<30).map { "c\($0)" }
        let text = names.joined(separator: ",") + "\n" + names.map { _ in "1" }.joined(separator: ",") + "\n"
        let error = #expect(throws: DataError.self) { try CSVReader(labelColumn: .name("y")).parse(text, path: "w.csv") }
        #expect(error?.description == "w.csv: no column 'y' (columns: \(names.joined(separator: ", ")))")
        let many = (0..<205).map { "c\($0)" }
        let long = DataError.unknownColumn(path: "w.csv", column: "y", available: many).description
        #expect(long.hasSuffix("c198, c199, … and 5 more)"))
    }
}
