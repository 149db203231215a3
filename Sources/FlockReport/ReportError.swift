/// A report that cannot be made: a missing or unreadable run, store or study, or a file
/// that cannot be written. The message names the path and what was expected.
public struct ReportError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
