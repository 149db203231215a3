import Foundation

/// Where a snapshot keeper listens, as it announces itself in the supervisor's channel
/// (`<run-dir>.supervisor/keepers/keeper-I.json`, written then renamed): keeper `index`
/// is the hostfile's host `index` (0 on one machine), so the buddy of host i is host i+1.
///
/// ```json
/// {"index": 1, "host": "node2", "addresses": ["10.0.0.12", "127.0.0.1"], "port": 40123, "pid": 811}
/// ```
public struct KeeperAddress: Codable, Sendable, Equatable {
    public var index: Int
    /// The keeper's host name, as its ranks' `gethostname` gives it: a rank's own keeper.
    public var host: String
    /// Its IPv4 addresses, loopback last; a client takes the first that answers.
    public var addresses: [String]
    public var port: Int
    public var pid: Int32

    static func folder(in channel: SupervisorChannel) -> URL { channel.folder.appendingPathComponent("keepers") }

    /// Announces this keeper; complete or absent.
    func write(in folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("keeper-\(index).json")
        try AtomicFile.write(try JSONEncoder().encode(self), to: file)
    }

    /// Every keeper announced in `folder`, by index.
    static func all(in folder: URL) -> [KeeperAddress] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix("keeper-") && $0.hasSuffix(".json") }.compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).flatMap { try? JSONDecoder().decode(KeeperAddress.self, from: $0) }
        }.sorted { $0.index < $1.index }
    }

    /// A connection to the keeper on its first address that answers within `timeout`.
    func connect(timeout: TimeInterval) throws -> Int32 {
        var reasons: [String] = []
        for address in addresses {
            do { return try KeeperSocket.connect(to: address, port: port, timeout: timeout) } catch { reasons.append("\(error)") }
        }
        throw KeeperSocket.Failure(message: "the snapshot keeper on \(host) does not answer (\(reasons.joined(separator: "; ")))")
    }

    /// One request and its answer on a fresh connection.
    func ask(_ request: KeeperMessage, payload: Data = Data(), timeout: TimeInterval) throws -> (message: KeeperMessage, payload: Data) {
        let descriptor = try connect(timeout: timeout)
        defer { close(descriptor) }
        try request.send(payload: payload, on: descriptor)
        guard let answer = try KeeperMessage.receive(on: descriptor) else {
            throw KeeperSocket.Failure(message: "the snapshot keeper on \(host) closed the connection without an answer")
        }
        if let error = answer.message.error { throw KeeperSocket.Failure(message: "the snapshot keeper on \(host): \(error)") }
        return answer
    }
}
