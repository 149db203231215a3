import Foundation

/// One request to a snapshot keeper or its answer: a small JSON header and the bytes it
/// carries (a rank's snapshot piece), framed on the connection as
///
/// ```
/// header length (UInt32, little-endian) | payload length (UInt64) | header JSON | payload
/// ```
struct KeeperMessage: Codable, Sendable, Equatable {
    enum Operation: String, Codable, Sendable {
        /// Keep `piece` (payload: its files, see `SnapshotPiece`).
        case put
        /// List every piece held (answer: `pieces`).
        case list
        /// Send one piece back (answer payload: its files).
        case get
        case ping
        /// An answer; `error` set when the request failed.
        case answer
    }

    var operation: Operation
    var piece: SnapshotPiece.Key?
    var pieces: [SnapshotPiece.Key]?
    var error: String?

    /// Headers are small; anything larger is not a keeper talking.
    static let headerLimit = 16 << 20
    /// A rank's shard of the training state; 64 GiB bounds a garbled length.
    static let payloadLimit: UInt64 = 64 << 30

    func send(payload: Data = Data(), on descriptor: Int32) throws {
        let header = try JSONEncoder().encode(self)
        var frame = Data()
        withUnsafeBytes(of: UInt32(header.count).littleEndian) { frame.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { frame.append(contentsOf: $0) }
        frame.append(header)
        try KeeperSocket.send(frame, on: descriptor)
        if !payload.isEmpty { try KeeperSocket.send(payload, on: descriptor) }
    }

    /// The next message and its payload; nil when the peer closed the connection.
    static func receive(on descriptor: Int32) throws -> (message: KeeperMessage, payload: Data)? {
        guard let lengths = try KeeperSocket.receive(12, on: descriptor) else { return nil }
        let (headerLength, payloadLength) = lengths.withUnsafeBytes {
            (UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)), UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt64.self)))
        }
        guard headerLength <= headerLimit, payloadLength <= payloadLimit else {
            throw KeeperSocket.Failure(message: "not a snapshot keeper's message (a header of \(headerLength) bytes, a payload of \(payloadLength))")
        }
        guard let header = try KeeperSocket.receive(Int(headerLength), on: descriptor) else {
            throw KeeperSocket.Failure(message: "the connection closed mid-message")
        }
        let message: KeeperMessage
        do { message = try JSONDecoder().decode(KeeperMessage.self, from: header) } catch {
            throw KeeperSocket.Failure(message: "not a snapshot keeper's message: \(error)")
        }
        let payload = payloadLength == 0 ? Data() : try KeeperSocket.receive(Int(payloadLength), on: descriptor) ?? Data()
        guard payload.count == Int(payloadLength) else { throw KeeperSocket.Failure(message: "the connection closed mid-message") }
        return (message, payload)
    }
}
