import Foundation

/// Whether this process should look for a better OpenBLAS core, and which to try.
///
/// OpenBLAS releases older than a CPU do not recognise it and fall back to generic kernels
/// (Debian's 0.3.21 runs "Prescott", SSE3, on recent Xeons). The plan compares the vector
/// level of the core OpenBLAS runs with the CPU's and lists the better cores, best first.
public enum BLASCorePlan: Equatable, Sendable {
    /// Run what is loaded.
    case keep(BLASChoice.Source, reason: String)
    /// Self-check these cores (best first) and switch to the first that passes.
    case tryCores([String], libraryCore: String)

    /// Set by Flock on the process it re-executes with the core it chose:
    /// "selected <core OpenBLAS detected>" or "library <why nothing was changed>".
    public static let markerVariable = "FLOCK_BLAS_CHOICE"
    /// Test hook: the `OPENBLAS_CORETYPE` in the environment stands for what OpenBLAS
    /// detected by itself, so a fallback (e.g. to Prescott) can be staged on any machine.
    public static let stagedFallbackVariable = "FLOCK_TEST_BLAS_FELL_BACK"

    public static func make(environment: [String: String], libraryCore: String, cpu: CPUInfo) -> BLASCorePlan {
        if let marker = environment[markerVariable] {
            let source: BLASChoice.Source = marker.hasPrefix("selected") ? .selected : .library
            return .keep(source, reason: marker)
        }
        if environment["OPENBLAS_CORETYPE"] != nil && environment[stagedFallbackVariable] == nil {
            return .keep(.user, reason: "OPENBLAS_CORETYPE is set")
        }
        let coreLevel = level(ofCore: libraryCore)
        guard coreLevel < cpu.vectorLevel else {
            return .keep(.library, reason: "OpenBLAS detected \(libraryCore), which matches the CPU (\(cpu.vectorLevel))")
        }
        let bf16 = cpu.features.contains("avx512_bf16")
        var candidates: [String] = []
        for level in [VectorLevel.avx512, .avx2, .avx] where level <= cpu.vectorLevel && level > coreLevel {
            switch level {
            case .avx512: candidates += bf16 ? ["SkylakeX", "Cooperlake"] : ["SkylakeX"]
            case .avx2: candidates += ["Haswell", "Zen"]
            case .avx: candidates += ["Sandybridge"]
            case .sse: break
            }
        }
        return .tryCores(candidates, libraryCore: libraryCore)
    }

    /// The vector level of an OpenBLAS core name; unknown and generic cores count as SSE.
    public static func level(ofCore name: String) -> VectorLevel {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return .avx512
        case "haswell", "zen", "excavator": return .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return .avx
        default: return .sse
        }
    }
}
