/// An IDX features file (N, d…) read a block of samples at a time: each row is one
/// sample's d… values, at a fixed offset, so any block is one `pread`.
public struct IDXRowBlocks: RowBlocks {
    public var path: String { file.path }
    public let rowCount: Int
    public let rowWidth: Int
    public let blockStarts: [Int]
    /// The shape of one sample, from the header.
    public let sampleShape: [Int]
    private let file: ReadOnlyFile
    private let header: IDXHeader

    /// Reads only the header (and checks the file's size against it).
    public init(path: String, rowsPerBlock: Int = 1024) throws {
        precondition(rowsPerBlock > 0, "a block holds at least one row")
        file = try ReadOnlyFile(path: path)
        header = try IDXHeader(try file.read(4 + 4 * 255, at: 0), path: path)
        try header.checkSize(file.size, path: path)
        guard let rows = header.shape.first else {
            throw DataError.invalidIDX(path: path, reason: "a features file needs at least one dimension (samples)")
        }
        rowCount = rows
        sampleShape = Array(header.shape.dropFirst())
        rowWidth = sampleShape.reduce(1, *)
        blockStarts = Array(stride(from: 0, to: rows, by: rowsPerBlock)) + [rows]
    }

    public func features(ofBlock block: Int) throws -> [Float] {
        let rowBytes = rowWidth * header.elementSize
        let first = blockStarts[block], rows = blockStarts[block + 1] - first
        return header.elements(try file.read(rows * rowBytes, at: header.size + first * rowBytes))
    }
}
