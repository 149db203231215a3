/// Colours that stay apart for people with the common colour-vision deficiencies
/// (Tableau 10), and the fixed meanings of a few.
enum Palette {
    static let series = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                         "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

    static func color(_ index: Int) -> String { series[index % series.count] }

    static let train = "#1f77b4"
    static let validation = "#ff7f0e"
    static let checkpoint = "#7f7f7f"
    static let earlyStop = "#d62728"
    static let best = "#2ca02c"
    static let rollback = "#9467bd"
    static let complete = "#1f77b4"
    static let pruned = "#ff7f0e"
    static let failed = "#d62728"
}
