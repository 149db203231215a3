import Foundation

/// The widest vector instructions a CPU (or a BLAS kernel) uses, lowest first.
public enum VectorLevel: Int, Comparable, Codable, Sendable, CustomStringConvertible {
    case sse, avx, avx2, avx512

    public static func < (lhs: VectorLevel, rhs: VectorLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { ["SSE", "AVX", "AVX2", "AVX-512"][rawValue] }
}

/// The CPU's model name and vector features, as Linux reports them in `/proc/cpuinfo`.
public struct CPUInfo: Codable, Sendable, Equatable {
    public var model: String
    /// The vector-related feature flags (sse…, avx…, fma), sorted.
    public var features: [String]
    public var cores: Int

    /// Reads `/proc/cpuinfo`, or the file named by `FLOCK_CPUINFO` (tests use it to stand
    /// in for another CPU).
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> CPUInfo {
        let path = environment["FLOCK_CPUINFO"] ?? "/proc/cpuinfo"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return parse(text, cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The first processor's `model name` and `flags` lines.
    public static func parse(_ cpuinfo: String, cores: Int) -> CPUInfo {
        var model = "unknown", flags: [String] = []
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "model name" && model == "unknown" { model = parts[1] }
            if parts[0] == "flags" && flags.isEmpty { flags = parts[1].split(separator: " ").map(String.init) }
        }
        let vector = flags.filter { $0.hasPrefix("sse") || $0.hasPrefix("ssse") || $0.hasPrefix("avx") || $0 == "fma" }
        return CPUInfo(model: model, features: vector.sorted(), cores: cores)
    }

    /// AVX-512 needs the F, BW, VL and DQ subsets OpenBLAS's SkylakeX kernels use.
    public var vectorLevel: VectorLevel {
        let has = Set(features)
        if has.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return .avx512 }
        if has.isSuperset(of: ["avx2", "fma"]) { return .avx2 }
        if has.contains("avx") { return .avx }
        return .sse
    }
}
