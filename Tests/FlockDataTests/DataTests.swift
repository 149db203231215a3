import FlockTensor
import Foundation
import Testing
@testable import FlockData

@Suite struct CSVReaderTests {
    @Test func readsHeaderAndNamedLabelColumn() throws {
        let data = try CSVReader(labelColumn: .name("y")).parse("a,y,b\n1,0,2\n3,1,4\n", path: "t.csv")
        #expect(data.features.shape == [2, 2])
        #expect(data.features.scalars == [1, 2, 3, 4])
        #expect(data.targets.scalars == [0, 1])
    }

    @Test func defaultLabelIsTheLastColumnWithoutHeader() throws {
        let data = try CSVReader(hasHeader: false).parse("1,2,7\r\n3,4,8\r\n\n", path: "t.csv")
        #expect(data.targets.scalars == [7, 8])
        #expect(data.features.scalars == [1, 2, 3, 4])
    }

    @Test func raggedRowNamesFileAndLine() {
        #expect(throws: DataError.raggedRow(path: "t.csv", line: 3, expected: 3, found: 2)) {
            try CSVReader().parse("a,b,y\n1,2,0\n3,4\n", path: "t.csv")
        }
    }

    @Test func nonNumericCellNamesLineAndColumn() {
        let error = #expect(throws: DataError.self) {
            try CSVReader().parse("a,b,y\n1,2,0\n3,x4,1\n", path: "t.csv")
        }
        #expect(error?.description == "t.csv:3: column b: 'x4' is not a number")
    }

    @Test func unknownLabelColumnListsColumns() {
        let error = #expect(throws: DataError.self) { try CSVReader(labelColumn: .name("label")).parse("a,b\n1,2\n", path: "t.csv") }
        #expect(error?.description.contains("no column 'label' (columns: a, b)") == true)
    }

    @Test func onlyALabelColumnIsRejectedNamingTheFile() {
        #expect(throws: DataError.noFeatures(path: "labels.csv")) {
            try CSVReader(labelColumn: .name("label")).parse("label\n1\n0\n", path: "labels.csv")
        }
        let error = #expect(throws: DataError.self) { try CSVReader(hasHeader: false).parse("3\n4\n", path: "t.csv") }
        #expect(error?.description == "t.csv: no feature columns (only the label column)")
    }

    @Test func missingFile() {
        #expect(throws: DataError.fileNotFound(path: "/nonexistent/x.csv")) { try CSVReader().read(path: "/nonexistent/x.csv") }
    }
}

@Suite struct IDXReaderTests {
    func idx(type: UInt8, shape: [UInt32], payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
        for dimension in shape { bytes += withUnsafeBytes(of: dimension.bigEndian) { Array($0) } }
        return bytes + payload
    }

    @Test func readsUnsignedByteImagesAndLabelsFromFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = folder.appendingPathComponent("images.idx"), labels = folder.appendingPathComponent("labels.idx")
        try Data(idx(type: 0x08, shape: [2, 2, 3], payload: Array(0..<12))).write(to: images)
        try Data(idx(type: 0x08, shape: [2], payload: [7, 1])).write(to: labels)
        let data = try IDXReader.readDataset(images: images.path, labels: labels.path)
        #expect(data.features.shape == [2, 2, 3])
        #expect(data.features.scalars == (0..<12).map(Float.init))
        #expect(data.targets.scalars == [7, 1])
    }

    @Test func readsBigEndianFloatAndSignedTypes() throws {
        let floats = idx(type: 0x0D, shape: [2], payload: withUnsafeBytes(of: Float(1.5).bitPattern.bigEndian) { Array($0) }
                            + withUnsafeBytes(of: Float(-2).bitPattern.bigEndian) { Array($0) })
        #expect(try IDXReader.parse(floats, path: "f").scalars == [1.5, -2])
        #expect(try IDXReader.parse(idx(type: 0x0B, shape: [1], payload: [0xFF, 0xFE]), path: "s").scalars == [-2])
    }

    @Test func rejectsBadMagicAndTruncatedData() {
        #expect(throws: DataError.self) { try IDXReader.parse([1, 0, 8, 1, 0, 0, 0, 1, 5], path: "m") }
        let truncated = idx(type: 0x08, shape: [4], payload: [1, 2])
        let error = #expect(throws: DataError.self) { try IDXReader.parse(truncated, path: "t.idx") }
        #expect(error?.description == "t.idx: not a valid IDX file: shape [4] needs 4 data bytes, file has 2")
    }

    @Test func aShapeWhoseSizeOverflowsIsAnErrorNotATrap() {
        // 255 dimensions of 2^32 - 1: the product overflows Int many times over.
        let huge = idx(type: 0x0E, shape: [UInt32](repeating: .max, count: 255), payload: [1, 2, 3])
        let error = #expect(throws: DataError.self) { try IDXReader.parse(huge, path: "huge.idx") }
        #expect(error?.description.hasPrefix("huge.idx: not a valid IDX file: shape [4294967295, 4294967295") == true)
        #expect(error?.description.hasSuffix("] is too large") == true)
    }
}

@Suite struct OrderAndSplitTests {
    let dataset = Dataset(features: Tensor(shape: [10, 2], scalars: (0..<20).map(Float.init)),
                          targets: Tensor(shape: [10], scalars: (0..<10).map(Float.init)))

    @Test func orderDependsOnlyOnSeedAndEpoch() {
        let order = SampleOrder(count: 10, seed: 5)
        #expect(order.order(epoch: 2) == SampleOrder(count: 10, seed: 5).order(epoch: 2))
        #expect(order.order(epoch: 2).sorted() == Array(0..<10))
        #expect(order.order(epoch: 2) != order.order(epoch: 3))
        #expect(SampleOrder(count: 10, shuffle: false, seed: 5).order(epoch: 4) == Array(0..<10))
    }

    @Test func splitIsDisjointAndComplete() {
        let (training, validation) = dataset.split(validationFraction: 0.3, seed: 9)
        #expect(training.count == 7 && validation.count == 3)
        #expect((training.targets.scalars + validation.targets.scalars).sorted() == (0..<10).map(Float.init))
    }

    @Test func normalizerUsesTrainingStatisticsOnly() {
        let training = Tensor(shape: [2, 2], scalars: [0, 10, 2, 30])
        let standard = Normalizer(method: .standard, fittingOn: training)
        #expect(standard.apply(training).scalars == [-1, -1, 1, 1])
        // Validation data is scaled with the training mean (1, 20) and deviation (1, 10).
        #expect(standard.apply(Tensor(shape: [1, 2], scalars: [3, 40])).scalars == [2, 2])
        let minMax = Normalizer(method: .minMax, fittingOn: training)
        #expect(minMax.apply(Tensor(shape: [1, 2], scalars: [1, 20])).scalars == [0.5, 0.5])
    }
}
