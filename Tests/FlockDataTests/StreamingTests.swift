import Foundation
import Testing
@testable import FlockData
import FlockTensor
import FlockTestSupport

@Suite struct StreamingTests {
    /// Quoted delimiters, quotes and line breaks, CRLF and LF, blank lines, a BOM, a
    /// missing cell and class-name labels: every cut must land on a record boundary.
    static let trickyCSV = "\u{FEFF}\"first, feature\",second,label\r\n"
        + "1.5,\"2\",\"cat, large\"\r\n"
        + "\n"
        + "3,  4 ,dog\n"
        + "\"5\",NA,\"say \"\"hi\"\"\"\n"
        + "7,8,\"two\nlines\"\n"
        + "\n\n"
        + "9,10,dog\r\n"
        + "11,12,cat, large\n"

    @Test func csvBlocksReadEveryRowAsTheWholeFileReaderDoes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = try folder.write("tricky.csv", Self.trickyCSV.replacingOccurrences(of: "cat, large\n", with: "\"cat, large\"\n")).path
        let reader = CSVReader(labelColumn: .name("label"))
        let whole = try reader.readContents(path: path)
        for blockBytes in [1, 2, 3, 5, 8, 13, 29, 64, 1 << 20] {
            let blocks = try CSVRowBlocks(path: path, reader: reader, blockBytes: blockBytes)
            let features = try (0..<blocks.blockCount).flatMap { try blocks.features(ofBlock: $0) }
            #expect(features.map(\.bitPattern) == whole.features.scalars.map(\.bitPattern), "block size \(blockBytes)")
            #expect(blocks.lines == whole.lines && blocks.lines == [2, 4, 5, 6, 10, 11], "block size \(blockBytes)")
            #expect(blocks.targets == whole.targets?.scalars && blocks.classNames == whole.classNames, "block size \(blockBytes)")
            #expect(blocks.featureColumns == ["first, feature", "second"] && blocks.firstMissing == whole.missing.first)
            #expect(blocks.rowCount == 6 && blocks.blockStarts.last == 6)
        }
    }

    @Test func aCSVErrorNamesTheLineWhereverTheCutFalls() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let ragged = try folder.write("ragged.csv", "a,b,label\n1,2,0\n3,4,1\n5,0\n7,8,1\n").path
        let unterminated = try folder.write("quote.csv", "a,b,label\n1,2,0\n3,\"4,1\n5,6,0\n").path
        for blockBytes in [1, 4, 9, 1 << 20] {
            #expect(throws: DataError.raggedRow(path: ragged, line: 4, expected: 3, found: 2)) {
                try CSVRowBlocks(path: ragged, reader: CSVReader(), blockBytes: blockBytes)
            }
            #expect(throws: DataError.unterminatedQuote(path: unterminated, line: 3)) {
                try CSVRowBlocks(path: unterminated, reader: CSVReader(), blockBytes: blockBytes)
            }
        }
    }

    @Test func idxBlocksReadEveryRowAsTheWholeFileReaderDoes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        for (code, size) in [(UInt8(0x08), 1), (0x0D, 4)] {
            let values = (0..<(7 * 2 * 3)).map { Float($0 % 251) * (code == 0x0D ? -0.5 : 1) }
            let url = folder.url.appendingPathComponent("images-\(code).idx")
            try Self.idx(values, shape: [7, 2, 3], code: code, elementSize: size).write(to: url)
            let whole = try IDXReader.read(path: url.path)
            let blocks = try IDXRowBlocks(path: url.path, rowsPerBlock: 3)
            #expect(blocks.blockStarts == [0, 3, 6, 7] && blocks.rowWidth == 6 && blocks.sampleShape == [2, 3])
            #expect(try (0..<blocks.blockCount).flatMap { try blocks.features(ofBlock: $0) } == whole.scalars)
        }
    }

    @Test func aStreamedSplitGathersTheSameRowsAsOneInMemory() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let values = (0..<(50 * 4)).map { Float($0) }
        let url = folder.url.appendingPathComponent("images.idx")
        try Self.idx(values, shape: [50, 4], code: 0x08, elementSize: 1).write(to: url)
        let all = Dataset(features: try IDXReader.read(path: url.path), targets: Tensor(shape: [50], scalars: (0..<50).map(Float.init)))
        let rows = stride(from: 1, to: 50, by: 3).map { $0 }
        // Blocks of 4 rows, a window of 2 positions: the cache holds few blocks and must evict.
        let streamed = StreamedDataset(blocks: try IDXRowBlocks(path: url.path, rowsPerBlock: 4), rows: rows, featureShape: [2, 2],
                                       targets: all.targets.gatherRows(rows), window: 2) { $0.reshaped([$0.shape[0], 2, 2]) }
        var generator = RandomGenerator(seed: 3)
        for _ in 0..<20 {
            let positions = (0..<5).map { _ in Int(generator.next() % UInt64(rows.count)) }
            let batch = try streamed.batch(positions)
            #expect(batch.features == all.features.gatherRows(positions.map { rows[$0] }).reshaped([5, 2, 2]))
            #expect(batch.targets.scalars == positions.map { Float(rows[$0]) })
        }
    }

    @Test func aShuffleWindowKeepsEachWindowsSamplesTogether() {
        let order = SampleOrder(count: 103, seed: 5, window: 10)
        for epoch in 0..<3 {
            let visited = order.order(epoch: epoch)
            #expect(visited.sorted() == Array(0..<103))
            // Cut the order where the window changes: each piece is one whole window.
            var pieces: [[Int]] = []
            for position in visited {
                if let last = pieces.last?.last, last / 10 == position / 10 { pieces[pieces.count - 1].append(position) } else { pieces.append([position]) }
            }
            #expect(pieces.count == 11 && pieces.allSatisfy { Set($0.map { $0 / 10 }).count == 1 })
            #expect(pieces.map { $0.count }.sorted() == [3] + Array(repeating: 10, count: 10))
        }
        #expect(order.order(epoch: 0) != order.order(epoch: 1))
        #expect(order.order(epoch: 0) != Array(0..<103))
        // A window as large as the data is the plain shuffle.
        let full = SampleOrder(count: 103, seed: 5, window: 103)
        #expect(full.order(epoch: 2) == SampleOrder(count: 103, seed: 5).order(epoch: 2))
    }

    @Test func blockStatisticsFitWhatTheInMemoryNormalizerFits() {
        let rows = 37, width = 3
        var generator = RandomGenerator(seed: 8)
        var values = (0..<(rows * width)).map { _ in generator.nextUniform(-4, 9) }
        values[4] = .nan
        values[20] = .nan
        var statistics = FeatureStatistics(width: width)
        // Two blocks, the second half only partly included.
        values.withUnsafeBufferPointer { all in
            statistics.add(UnsafeBufferPointer(rebasing: all[..<(20 * width)]))
            statistics.add(UnsafeBufferPointer(rebasing: all[(20 * width)...])) { $0 % 2 == 0 }
        }
        let included = (0..<rows).filter { $0 < 20 || ($0 - 20) % 2 == 0 }
        let columnMeans = (0..<width).map { column in
            let present = included.map { values[$0 * width + column] }.filter { !$0.isNaN }
            return Float(present.map(Double.init).reduce(0, +) / Double(present.count))
        }
        #expect(zip(statistics.means, columnMeans).allSatisfy { abs($0 - $1) < 1e-6 })
        let imputed = Tensor(shape: [included.count, width], scalars: included.flatMap { row in
            (0..<width).map { column in values[row * width + column].isNaN ? columnMeans[column] : values[row * width + column] }
        })
        for method in [Normalizer.Method.standard, .minMax] {
            let expected = Normalizer(method: method, fittingOn: imputed)
            let fitted = statistics.normalizer(method, imputation: statistics.means)
            #expect(zip(fitted.offset + fitted.scale, expected.offset + expected.scale).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) },
                    "\(method): \(fitted) vs \(expected)")
        }
    }

    /// An IDX file of `values` (big-endian) with `shape`.
    static func idx(_ values: [Float], shape: [Int], code: UInt8, elementSize: Int) -> Data {
        var bytes: [UInt8] = [0, 0, code, UInt8(shape.count)]
        for dimension in shape { bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init) }
        for value in values {
            bytes += elementSize == 1 ? [UInt8(value)] : withUnsafeBytes(of: value.bitPattern.bigEndian, Array.init)
        }
        return Data(bytes)
    }
}
