import Foundation

/// Maps data values onto a pixel range and chooses tick marks: "nice" steps (1, 2, 5 × 10ᵏ)
/// on a linear axis, powers of ten (with 2 and 5 between when few decades) on a log axis.
struct AxisScale {
    let low: Double
    let high: Double
    let logarithmic: Bool
    /// Pixel positions of `low` and `high` (for a y axis, `from` is the bottom).
    let from: Double
    let to: Double

    /// A scale covering `values` (finite ones; positive ones on a log axis), padded a little
    /// so points do not sit on the frame.
    init(covering values: [Double], logarithmic: Bool, from: Double, to: Double, padded: Bool = true) {
        let usable = values.filter { $0.isFinite && (!logarithmic || $0 > 0) }
        self.logarithmic = logarithmic
        self.from = from
        self.to = to
        guard var minimum = usable.min(), var maximum = usable.max() else {
            (low, high) = logarithmic ? (1, 10) : (0, 1)
            return
        }
        if logarithmic {
            if maximum / minimum < 1.5 { minimum /= 1.25; maximum *= 1.25 }
            let pad = padded ? pow(maximum / minimum, 0.04) : 1
            (low, high) = (minimum / pad, maximum * pad)
        } else {
            if maximum - minimum < 1e-12 * max(1, abs(maximum)) {
                let spread = max(abs(maximum) * 0.05, 1e-6)
                minimum -= spread
                maximum += spread
            }
            let pad = padded ? (maximum - minimum) * 0.04 : 0
            (low, high) = (minimum - pad, maximum + pad)
        }
    }

    func position(_ value: Double) -> Double {
        let fraction = logarithmic ? log(value / low) / log(high / low) : (value - low) / (high - low)
        return from + fraction * (to - from)
    }

    /// About `count` ticks inside the range.
    func ticks(count: Int = 5) -> [Double] {
        logarithmic ? logTicks() : linearTicks(count: count)
    }

    private func linearTicks(count: Int) -> [Double] {
        let raw = (high - low) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var tick = ceil(low / step) * step
        while tick <= high + step * 1e-9 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return ticks
    }

    private func logTicks() -> [Double] {
        let first = Int(floor(log10(low))), last = Int(ceil(log10(high)))
        let multipliers: [Double] = last - first <= 2 ? [1, 2, 5] : [1]
        var ticks: [Double] = []
        for exponent in first...last {
            for multiplier in multipliers {
                let tick = multiplier * pow(10, Double(exponent))
                if tick >= low && tick <= high { ticks.append(tick) }
            }
        }
        return ticks
    }
}

/// Numbers as a person reads them on an axis or in a tooltip: 4 significant digits,
/// scientific notation only for very small or large magnitudes.
enum NumberText {
    /// A tick label: short, with k and M for thousands and millions (`110k`), so labels
    /// stay clear of the axis title.
    static func tick(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e6 && magnitude < 1e9 { return String(format: "%.3g", value / 1e6) + "M" }
        if magnitude >= 1e4 && magnitude < 1e6 { return String(format: "%.3g", value / 1e3) + "k" }
        return format(value)
    }

    static func format(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return String(format: "%.3g", value) }
        var text = String(format: "%.4g", value)
        if text.contains("e") { text = String(format: "%.3g", value) }
        return text
    }
}
