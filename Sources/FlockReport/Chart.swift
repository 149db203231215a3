import Foundation

/// One point of a chart, with the text shown when the mouse is over it
/// ("trial 7 · step 3 · val_loss 0.412").
struct ChartPoint {
    var x: Double
    var y: Double
    var tip: String
}

/// How a series' points are drawn.
enum PointShape: String {
    case dot, cross, none
}

/// A named line or set of points.
struct ChartSeries {
    var name: String
    var points: [ChartPoint]
    var color: String
    var dashed = false
    var line = true
    var shape: PointShape = .dot
    /// Points drawn with a different shape (a pruned trial's last step), by index.
    var emphasized: [Int: PointShape] = [:]
}

/// A vertical line at an x value with a label (an early stop, a checkpoint).
struct ChartMarker {
    var x: Double
    var label: String
    var color: String
}

/// An entry of a chart's legend.
struct LegendEntry {
    var label: String
    var color: String
    var dashed = false
    var shape: PointShape = .none
}

/// A line or scatter chart rendered as inline SVG: axes with ticks and labels (units in
/// the labels), a legend, vertical markers, and a `data-tip` on every point for the page's
/// tooltip script (and an SVG `<title>`, which browsers show without script too).
struct Chart {
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [ChartSeries]
    var markers: [ChartMarker] = []
    /// Legend entries; by default one per series.
    var legend: [LegendEntry]? = nil
    var logX = false
    var logY = false
    /// Category names for x = 0, 1, 2… (a categorical parameter).
    var xCategories: [String]? = nil
    /// Integer ticks only on x (epochs, steps, trial numbers).
    var integerX = false

    static let width = 600.0
    static let height = 320.0

    func svg() -> String {
        let entries = legend ?? series.map { LegendEntry(label: $0.name, color: $0.color, dashed: $0.dashed, shape: $0.line ? .none : $0.shape) }
        let legendLayout = layOutLegend(entries)
        let plot = (left: 70.0, right: Self.width - 14, top: 12 + legendLayout.height, bottom: Self.height - 46)
        let xValues = series.flatMap { $0.points.map(\.x) } + markers.map(\.x)
        let yValues = series.flatMap { $0.points.map(\.y) }
        let xScale: AxisScale
        if let categories = xCategories {
            xScale = AxisScale(covering: [-0.5, Double(categories.count) - 0.5], logarithmic: false, from: plot.left, to: plot.right, padded: false)
        } else {
            xScale = AxisScale(covering: xValues, logarithmic: logX, from: plot.left, to: plot.right)
        }
        let yScale = AxisScale(covering: yValues, logarithmic: logY, from: plot.bottom, to: plot.top)
        var svg = """
            <svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" \
            width="\(Int(Self.width))" height="\(Int(Self.height))" role="img" aria-label="\(HTML.escape(title))">
            <rect class="plot-area" x="\(f(plot.left))" y="\(f(plot.top))" width="\(f(plot.right - plot.left))" \
            height="\(f(plot.bottom - plot.top))" fill="#ffffff" stroke="#888888"/>

            """
        svg += axes(xScale: xScale, yScale: yScale, plot: plot)
        svg += legendLayout.svg
        svg += "<g class=\"markers\">\n" + markers.map { marker(for: $0, xScale: xScale, plot: plot) }.joined() + "</g>\n"
        for item in series { svg += draw(item, xScale: xScale, yScale: yScale, plot: plot) }
        return svg + "</svg>\n"
    }

    private func axes(xScale: AxisScale, yScale: AxisScale, plot: (left: Double, right: Double, top: Double, bottom: Double)) -> String {
        var svg = "<g class=\"axis x-axis\">\n"
        let xTicks: [(Double, String)]
        if let categories = xCategories {
            xTicks = categories.enumerated().map { (Double($0.offset), $0.element) }
        } else {
            xTicks = xScale.ticks(count: 6).filter { !integerX || $0 == $0.rounded() }.map { ($0, NumberText.tick($0)) }
        }
        for (value, text) in xTicks {
            let x = xScale.position(value)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(plot.bottom))\" x2=\"\(f(x))\" y2=\"\(f(plot.bottom + 5))\" stroke=\"#444\"/>"
            svg += "<text class=\"tick\" x=\"\(f(x))\" y=\"\(f(plot.bottom + 18))\" text-anchor=\"middle\">\(HTML.escape(text))</text>\n"
        }
        svg += "<text class=\"axis-label\" x=\"\(f((plot.left + plot.right) / 2))\" y=\"\(f(Self.height - 8))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>\n</g>\n"
        svg += "<g class=\"axis y-axis\">\n"
        for value in yScale.ticks(count: 5) {
            let y = yScale.position(value)
            svg += "<line x1=\"\(f(plot.left))\" y1=\"\(f(y))\" x2=\"\(f(plot.right))\" y2=\"\(f(y))\" stroke=\"#e4e4e4\"/>"
            svg += "<line x1=\"\(f(plot.left - 5))\" y1=\"\(f(y))\" x2=\"\(f(plot.left))\" y2=\"\(f(y))\" stroke=\"#444\"/>"
            svg += "<text class=\"tick\" x=\"\(f(plot.left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(NumberText.tick(value))</text>\n"
        }
        let middle = (plot.top + plot.bottom) / 2
        svg += "<text class=\"axis-label\" x=\"16\" y=\"\(f(middle))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(middle)))\">\(HTML.escape(yLabel))</text>\n</g>\n"
        return svg
    }

    private func marker(for marker: ChartMarker, xScale: AxisScale, plot: (left: Double, right: Double, top: Double, bottom: Double)) -> String {
        let x = xScale.position(marker.x)
        let label = HTML.escape(marker.label)
        return """
            <g class="marker" data-tip="\(label)"><title>\(label)</title>\
            <line x1="\(f(x))" y1="\(f(plot.top))" x2="\(f(x))" y2="\(f(plot.bottom))" stroke="\(marker.color)" stroke-width="2" stroke-dasharray="2 3"/>\
            <line x1="\(f(x))" y1="\(f(plot.top))" x2="\(f(x))" y2="\(f(plot.bottom))" stroke="transparent" stroke-width="8"/></g>

            """
    }

    private func draw(_ item: ChartSeries, xScale: AxisScale, yScale: AxisScale, plot: (left: Double, right: Double, top: Double, bottom: Double)) -> String {
        let visible = item.points.enumerated().filter {
            $0.element.x.isFinite && $0.element.y.isFinite && (!logX || $0.element.x > 0) && (!logY || $0.element.y > 0)
        }
        var svg = "<g class=\"series\" data-series=\"\(HTML.escape(item.name))\">\n"
        if item.line && visible.count > 1 {
            let coordinates = visible.map { "\(f(xScale.position($0.element.x))),\(f(yScale.position($0.element.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(item.color)\" stroke-width=\"2\"\(item.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(coordinates)\"/>\n"
        }
        for (index, point) in visible {
            let x = xScale.position(point.x), y = yScale.position(point.y)
            let tip = HTML.escape(point.tip)
            switch item.emphasized[index] ?? item.shape {
            case .dot:
                svg += "<circle class=\"point\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(item.line ? 3 : 4)\" fill=\"\(item.color)\" data-tip=\"\(tip)\"><title>\(tip)</title></circle>\n"
            case .cross:
                svg += "<path class=\"point\" d=\"M\(f(x - 5)),\(f(y - 5))L\(f(x + 5)),\(f(y + 5))M\(f(x - 5)),\(f(y + 5))L\(f(x + 5)),\(f(y - 5))\" stroke=\"\(item.color)\" stroke-width=\"2.5\" data-tip=\"\(tip)\"><title>\(tip)</title></path>\n"
            case .none:
                // Invisible but hoverable: the line carries the colour.
                svg += "<circle class=\"point\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"5\" fill=\"transparent\" data-tip=\"\(tip)\"><title>\(tip)</title></circle>\n"
            }
        }
        return svg + "</g>\n"
    }

    /// Legend entries laid out left to right, wrapping; about 6.5 px per character at 12 px.
    private func layOutLegend(_ entries: [LegendEntry]) -> (svg: String, height: Double) {
        guard !entries.isEmpty else { return ("", 0) }
        var svg = "<g class=\"legend\">\n"
        var x = 70.0, row = 0
        for entry in entries {
            let width = 30 + Double(entry.label.count) * 6.5 + 14
            if x + width > Self.width - 10 && x > 70 { x = 70; row += 1 }
            let y = 14 + Double(row) * 18
            switch entry.shape {
            case .none:
                svg += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(entry.color)\" stroke-width=\"2\"\(entry.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            case .dot:
                svg += "<circle cx=\"\(f(x + 12))\" cy=\"\(f(y - 4))\" r=\"4\" fill=\"\(entry.color)\"/>"
            case .cross:
                svg += "<path d=\"M\(f(x + 8)),\(f(y - 8))L\(f(x + 16)),\(f(y))M\(f(x + 8)),\(f(y))L\(f(x + 16)),\(f(y - 8))\" stroke=\"\(entry.color)\" stroke-width=\"2.5\"/>"
            }
            svg += "<text class=\"legend-label\" x=\"\(f(x + 30))\" y=\"\(f(y))\">\(HTML.escape(entry.label))</text>\n"
            x += width
        }
        return (svg + "</g>\n", Double(row + 1) * 18 + 4)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
