import Foundation

/// `flock report --watch SECONDS`: rewrites the report periodically while training or a
/// sweep runs. Each pass opens the store read-only, so writers never wait for it.
public struct ReportWatcher: Sendable {
    public let target: String
    public let study: String?
    public let output: String
    public let seconds: Double

    public init(target: String, study: String?, output: String, seconds: Double) throws {
        guard seconds.isFinite, seconds > 0 else { throw ReportError("--watch: expected a positive number of seconds, got \(seconds)") }
        self.target = target
        self.study = study
        self.output = output
        self.seconds = seconds
    }

    /// Writes the report every `seconds`, `passes` times (nil: until the process is
    /// stopped). The first pass's error is thrown (a wrong target); later ones go to
    /// `onPass` and the next pass tries again (a store being created, say).
    public func run(passes: Int? = nil, onPass: (Result<Report, any Error>) -> Void = { _ in }) throws {
        var pass = 0
        while passes.map({ pass < $0 }) ?? true {
            do {
                let report = try Report.make(target: target, study: study, refreshSeconds: seconds)
                try report.write(to: output)
                onPass(.success(report))
            } catch {
                if pass == 0 { throw error }
                onPass(.failure(error))
            }
            pass += 1
            if passes.map({ pass < $0 }) ?? true { Thread.sleep(forTimeInterval: seconds) }
        }
    }
}
