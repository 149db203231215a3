/// A store that could not be opened, read or written.
public struct StoreError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "experiment store \(path): \(reason)" }
}
