import FlockComm
import Foundation

/// Named files sent between ranks (shards to rank 0, which writes the checkpoint folder,
/// so a checkpoint stays one atomic folder written by one process and needs no shared
/// file system while it is written). Bytes travel as 32-bit words, padded.
enum FileTransfer {
    static let tag = 7_001

    static func send(_ files: [String: Data], to destination: Int, over communicator: any Communicator) throws {
        let names = files.keys.sorted()
        let lengths = names.flatMap { [Int64($0.utf8.count), Int64(files[$0]!.count)] }
        try [Int64(names.count)].withUnsafeBufferPointer { try communicator.send($0, to: destination, tag: tag) }
        try lengths.withUnsafeBufferPointer { try communicator.send($0, to: destination, tag: tag) }
        for name in names {
            for bytes in [Data(name.utf8), files[name]!] {
                try words(of: bytes).withUnsafeBufferPointer { try communicator.send($0, to: destination, tag: tag) }
            }
        }
    }

    static func receive(from source: Int, over communicator: any Communicator) throws -> [String: Data] {
        var count = [Int64](repeating: 0, count: 1)
        try count.withUnsafeMutableBufferPointer { try communicator.receive($0, from: source, tag: tag) }
        var lengths = [Int64](repeating: 0, count: 2 * Int(count[0]))
        try lengths.withUnsafeMutableBufferPointer { try communicator.receive($0, from: source, tag: tag) }
        var files: [String: Data] = [:]
        for index in 0..<Int(count[0]) {
            let name = String(decoding: try receiveBytes(Int(lengths[2 * index]), from: source, over: communicator), as: UTF8.self)
            files[name] = try receiveBytes(Int(lengths[2 * index + 1]), from: source, over: communicator)
        }
        return files
    }

    private static func receiveBytes(_ length: Int, from source: Int, over communicator: any Communicator) throws -> Data {
        var words = [Int32](repeating: 0, count: (length + 3) / 4)
        try words.withUnsafeMutableBufferPointer { try communicator.receive($0, from: source, tag: tag) }
        return words.withUnsafeBytes { Data($0.prefix(length)) }
    }

    private static func words(of bytes: Data) -> [Int32] {
        var words = [Int32](repeating: 0, count: (bytes.count + 3) / 4)
        words.withUnsafeMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
        return words
    }
}
