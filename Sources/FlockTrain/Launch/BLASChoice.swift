import FlockTensor
import Foundation

/// The BLAS kernel a run used and how it came to be chosen; recorded in `summary.json`
/// (`blas`) and in the store.
public struct BLASChoice: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Source: String, Codable, Sendable {
        /// `OPENBLAS_CORETYPE` set by the user: respected, never changed.
        case user
        /// Flock found OpenBLAS below the CPU and switched to a core that passed its self-check.
        case selected
        /// What OpenBLAS detected by itself.
        case library
    }

    /// "OpenBLAS 0.3.21"
    public var library: String
    public var core: String
    public var threads: Int
    public var chosenBy: Source
    /// Why, in words: what OpenBLAS detected, what was checked.
    public var detail: String

    enum CodingKeys: String, CodingKey {
        case library, core, threads, detail
        case chosenBy = "chosen_by"
    }

    public init(library: String, core: String, threads: Int, chosenBy: Source, detail: String) {
        self.library = library
        self.core = core
        self.threads = threads
        self.chosenBy = chosenBy
        self.detail = detail
    }

    /// The kernel this process runs now, read from OpenBLAS and from the environment that
    /// `BLASCoreSelection.prepareProcess` left.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> BLASChoice {
        let plan = BLASCorePlan.make(environment: environment, libraryCore: BLASKernel.coreName, cpu: CPUInfo.current(environment: environment))
        let (source, reason): (Source, String)
        switch plan {
        case .keep(let kept, let why): (source, reason) = (kept, why)
        case .tryCores(let cores, _): (source, reason) = (.library, "not checked yet (better cores: \(cores.joined(separator: ", ")))")
        }
        let detail: String
        switch source {
        case .user: detail = "OPENBLAS_CORETYPE=\(environment["OPENBLAS_CORETYPE"] ?? "") set by the user"
        case .selected: detail = "OpenBLAS detected \(reason.dropFirst("selected ".count)); this core passed the self-check"
        case .library: detail = reason.hasPrefix("library ") ? String(reason.dropFirst("library ".count)) : reason
        }
        return BLASChoice(library: BLASKernel.library, core: BLASKernel.coreName, threads: BLAS.threadCount,
                          chosenBy: source, detail: detail)
    }

    /// One line for rank 0 to print at start-up.
    public var description: String {
        "blas: \(library), core \(core) (\(chosenBy.rawValue): \(detail)), \(threads) thread\(threads == 1 ? "" : "s")"
    }
}

extension BLASChoice {
    /// Compact JSON (sorted keys), as the store keeps it.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

extension TrainingSummary {
    /// This summary with the process's BLAS choice filled in, unless it has one.
    public func recordingBLAS() -> TrainingSummary {
        var summary = self
        summary.blas = summary.blas ?? BLASChoice.current()
        return summary
    }
}
