/// A CSV file read a block of rows at a time. One pass at start-up cuts the file into
/// blocks of about `blockBytes` at record boundaries (found by the same RFC 4180 parser
/// that reads the rows, so quoted line breaks never split a record), checks every row and
/// keeps what is small: the labels, the line each row starts on, the first missing cell.
/// The feature values stay in the file until a block is asked for.
public struct CSVRowBlocks: RowBlocks {
    public var path: String { file.path }
    public let rowCount: Int
    public var rowWidth: Int { featureColumns.count }
    public let blockStarts: [Int]
    public let featureColumns: [String]
    public let labelColumn: String?
    /// Class index → name when the labels are names.
    public let classNames: [String]?
    /// Every row's label (a class index when the labels are names); nil without a label column.
    public let targets: [Float]?
    /// The line each row starts on.
    public let lines: [Int]
    /// The first empty or missing-marker feature cell, if any (read as NaN).
    public let firstMissing: CSVCell?
    private let file: ReadOnlyFile
    private let reader: CSVReader
    private let layout: CSVColumnLayout
    private let names: [String]
    /// Per block: its first byte and the line it starts on; then the end of the last block.
    private let blockOffsets: [Int]
    private let blockLines: [Int]

    public init(path: String, reader: CSVReader, blockBytes: Int = 1 << 20) throws {
        precondition(blockBytes > 0, "a block holds at least one byte")
        file = try ReadOnlyFile(path: path)
        self.reader = reader
        var scan = try CSVBlockScan(file: file, reader: reader, blockBytes: blockBytes)
        guard scan.rowCount > 0, let layout = scan.layout else { throw DataError.empty(path: path) }
        self.layout = layout
        names = scan.names
        featureColumns = layout.features.map { scan.names[$0] }
        labelColumn = layout.label.map { scan.names[$0] }
        rowCount = scan.rowCount
        blockStarts = scan.blockStarts + [scan.rowCount]
        blockOffsets = scan.blockOffsets + [scan.endOffset]
        blockLines = scan.blockLines
        lines = scan.lines
        firstMissing = scan.firstMissing
        if let label = layout.label {
            let encoded = try reader.encodeLabels(scan.takeLabelTexts(), lines: lines, column: names[label], path: path)
            targets = encoded.targets
            classNames = encoded.classNames
        } else {
            (targets, classNames) = (nil, nil)
        }
    }

    public func features(ofBlock block: Int) throws -> [Float] {
        let bytes = try file.read(blockOffsets[block + 1] - blockOffsets[block], at: blockOffsets[block])
        var records = try CSVRecordParser(bytes: bytes, delimiter: reader.delimiter, path: path, firstLine: blockLines[block])
        var table = CSVTable(layout: layout, names: names, missingMarkers: reader.missingMarkers, path: path)
        while let record = try records.next() { try table.append(record) }
        guard table.lines.count == blockStarts[block + 1] - blockStarts[block] else {
            throw DataError.unreadable(path: path, reason: "the file changed while training (lines \(blockLines[block])…)")
        }
        return table.features
    }
}

/// The start-up pass of `CSVRowBlocks`: reads the file in pieces of `blockBytes`, parses
/// the records of each piece but the last (which may be cut; it is parsed again with the
/// next piece), and notes where each piece's records start.
struct CSVBlockScan {
    private(set) var names: [String] = []
    private(set) var layout: CSVColumnLayout?
    private(set) var rowCount = 0
    private(set) var blockStarts: [Int] = []
    private(set) var blockOffsets: [Int] = []
    private(set) var blockLines: [Int] = []
    private(set) var endOffset = 0
    private(set) var lines: [Int] = []
    private(set) var firstMissing: CSVCell?
    private var labelTexts: [String] = []

    init(file: ReadOnlyFile, reader: CSVReader, blockBytes: Int) throws {
        var buffer: [UInt8] = [], bufferOffset = 0, bufferLine = 1, readOffset = 0
        while readOffset < file.size || !buffer.isEmpty {
            let piece = try file.read(blockBytes, at: readOffset)
            readOffset += piece.count
            buffer += piece
            let isLast = readOffset >= file.size
            var parser = try CSVRecordParser(bytes: buffer, delimiter: reader.delimiter, path: file.path, firstLine: bufferLine)
            var records: [CSVRecord] = [], starts: [(position: Int, line: Int)] = []
            while true {
                let start = (parser.position, parser.line)
                do {
                    guard let record = try parser.next() else { break }
                    records.append(record)
                    starts.append(start)
                } catch where !isLast && parser.isAtEnd {
                    starts.append(start)   // cut inside a quoted field: parsed again with more bytes
                    break
                }
            }
            // Keep the last record (maybe cut) for the next piece unless this is the file's end.
            let carry = isLast ? nil : starts.last
            if !isLast, !records.isEmpty, records.count == starts.count { records.removeLast() }
            if records.isEmpty && !isLast { continue }   // one record longer than a piece: read more
            let end = carry?.position ?? buffer.count
            try take(records, starts: starts, offset: bufferOffset, reader: reader, path: file.path)
            endOffset = bufferOffset + end
            buffer = Array(buffer[end...])
            bufferOffset += end
            bufferLine = carry?.line ?? bufferLine
            if isLast { break }
        }
    }

    mutating func takeLabelTexts() -> [String] {
        defer { labelTexts = [] }
        return labelTexts
    }

    /// Checks one piece's records and notes them as a block (the header first, if not read
    /// yet); `starts[i]` is where record `i`'s text (with any blank lines before it) begins.
    private mutating func take(_ records: [CSVRecord], starts: [(position: Int, line: Int)], offset: Int,
                               reader: CSVReader, path: String) throws {
        var first = 0
        if layout == nil, let header = records.first {
            names = reader.hasHeader ? header.fields : header.fields.indices.map { "\($0)" }
            layout = try reader.columnLayout(names: names, path: path)
            if reader.hasHeader { first = 1 }
        }
        guard let layout, first < records.count else { return }
        var table = CSVTable(layout: layout, names: names, missingMarkers: reader.missingMarkers, path: path)
        for record in records[first...] { try table.append(record) }
        blockStarts.append(rowCount)
        blockOffsets.append(offset + starts[first].position)
        blockLines.append(starts[first].line)
        rowCount += table.lines.count
        lines += table.lines
        labelTexts += table.labelTexts
        if firstMissing == nil { firstMissing = table.missing.first }
    }
}
