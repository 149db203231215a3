/// A ratio measured as a shared machine allows: baseline and candidate run alternately
/// (baseline, candidate, baseline, candidate, …), each pair gives one ratio, and the
/// result is the median of the per-pair ratios with their spread — not the ratio of two
/// single runs taken at different moments, which load on the machine can move by tens of
/// percent.
public struct PairedRatio: Sendable, Equatable {
    /// candidate / baseline for each pair, in the order measured.
    public let ratios: [Double]

    public init(ratios: [Double]) {
        precondition(!ratios.isEmpty, "a paired ratio needs at least one pair")
        self.ratios = ratios
    }

    /// Runs `pairs` interleaved pairs; each closure returns a figure where larger is better
    /// (a throughput) and is timed by the caller's own means.
    public static func measure(pairs: Int, baseline: () throws -> Double, candidate: () throws -> Double) rethrows -> PairedRatio {
        var ratios: [Double] = []
        for _ in 0..<max(pairs, 1) {
            let base = try baseline()
            ratios.append(try candidate() / base)
        }
        return PairedRatio(ratios: ratios)
    }

    private var sorted: [Double] { ratios.sorted() }
    public var median: Double { Self.quantile(sorted, 0.5) }
    public var minimum: Double { sorted.first! }
    public var maximum: Double { sorted.last! }
    /// The first and third quartiles (linear interpolation).
    public var interquartile: (low: Double, high: Double) { (Self.quantile(sorted, 0.25), Self.quantile(sorted, 0.75)) }

    /// "0.913 (0.88–0.95 over 5 pairs)".
    public var summary: String {
        String(format: "%.3f (%.3f–%.3f over %d pairs)", median, minimum, maximum, ratios.count)
    }

    /// The fields of a JSON result: `<name>` (the median), `<name>_min`, `<name>_max`,
    /// `<name>_q1`, `<name>_q3`, `<name>_pairs`.
    public func json(_ name: String) -> [String: Any] {
        let quartiles = interquartile
        return [name: median, "\(name)_min": minimum, "\(name)_max": maximum, "\(name)_q1": quartiles.low,
                "\(name)_q3": quartiles.high, "\(name)_pairs": ratios]
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1), low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }
}
