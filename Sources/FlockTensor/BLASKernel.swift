import CBLAS

/// What OpenBLAS says about itself: the kernel family ("core") it runs and how it was built.
///
/// OpenBLAS picks its core once, when the library loads, from CPUID or from the
/// `OPENBLAS_CORETYPE` environment variable; it cannot be changed afterwards.
public enum BLASKernel {
    /// The core OpenBLAS runs, as it names it: "Haswell", "SkylakeX", "Zen", "Prescott", ...
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: " ")
    }

    /// The build string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text).trimmingCharacters(in: " ")
    }

    /// "OpenBLAS 0.3.21": the first two words of the build string.
    public static var library: String {
        configuration.split(separator: " ").prefix(2).joined(separator: " ")
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
