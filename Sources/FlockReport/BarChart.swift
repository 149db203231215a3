import Foundation

/// Horizontal bars with a labelled value axis (parameter importances).
struct BarChart {
    var title: String
    var valueLabel: String
    /// (label, value, tooltip), drawn top to bottom.
    var bars: [(label: String, value: Double, tip: String)]
    var maximum = 1.0

    func svg() -> String {
        let rowHeight = 26.0, left = 170.0, right = Chart.width - 20
        let top = 10.0, bottom = top + rowHeight * Double(max(bars.count, 1))
        let height = bottom + 44
        let scale = AxisScale(covering: [0, maximum], logarithmic: false, from: left, to: right, padded: false)
        var svg = """
            <svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(Chart.width)) \(Int(height))" width="\(Int(Chart.width))" \
            height="\(Int(height))" role="img" aria-label="\(HTML.escape(title))">
            <rect class="plot-area" x="\(left)" y="\(top)" width="\(right - left)" height="\(bottom - top)" fill="#ffffff" stroke="#888888"/>
            <g class="axis x-axis">
            """
        for tick in scale.ticks(count: 5) {
            let x = scale.position(tick)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(bottom + 5))\" stroke=\"#e4e4e4\"/>"
            svg += "<text class=\"tick\" x=\"\(f(x))\" y=\"\(f(bottom + 18))\" text-anchor=\"middle\">\(NumberText.format(tick))</text>\n"
        }
        svg += "<text class=\"axis-label\" x=\"\(f((left + right) / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(HTML.escape(valueLabel))</text>\n</g>\n<g class=\"axis y-axis\">\n"
        for (index, bar) in bars.enumerated() {
            let y = top + rowHeight * Double(index)
            let tip = HTML.escape(bar.tip)
            svg += "<text class=\"tick\" x=\"\(f(left - 8))\" y=\"\(f(y + 17))\" text-anchor=\"end\">\(HTML.escape(bar.label))</text>\n"
            svg += "<rect class=\"bar\" x=\"\(f(left))\" y=\"\(f(y + 5))\" width=\"\(f(max(1, scale.position(bar.value) - left)))\" height=\"\(f(rowHeight - 10))\" fill=\"\(Palette.color(index))\" data-tip=\"\(tip)\"><title>\(tip)</title></rect>\n"
        }
        return svg + "</g>\n</svg>\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
