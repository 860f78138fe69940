import CellbookHTTP
import CellbookJSON
import ServingKit

/// A self-contained HTML page for a finished run: inline CSS and SVG, no scripts, no external
/// resources, so it opens offline and can be attached to a notebook's outputs as one file.
public enum HTMLReport {
    public static func render(_ result: LoadTestResult, title: String? = nil) -> String {
        let summary = result.summary
        let successful = result.requests.filter(\.succeeded)
        let pageTitle = title ?? "Load test: \(result.config.model)"
        var body = ""
        body += "<h1>\(escape(pageTitle))</h1>\n"
        body += "<p class=\"sub\">\(escape(describeRun(result)))</p>\n"
        body += "<section class=\"lines\"><pre>\(escape((TextReport.tutorialLines(summary) + [""] + TextReport.measuredLines(summary)).joined(separator: "\n")))</pre></section>\n"
        body += "<div class=\"grid\">\n"
        body += figure("Time to first token (ms)",
                       histogramSVG(Histogram(successful.map { $0.ttft * 1000 }), unit: "ms", color: "#3b6fb6"))
        body += figure("End-to-end latency (ms)",
                       histogramSVG(Histogram(successful.map { $0.endToEndLatency * 1000 }), unit: "ms", color: "#b65f3b"))
        body += figure("Output throughput over time (tokens/s, all streams)",
                       throughputSVG(ThroughputSeries(timelines: result.timelines, runStartNs: result.runStartNs,
                                                      runEndNs: result.runEndNs)))
        body += figure("Gap between chunks (ms)",
                       histogramSVG(Histogram(pooledGapsInMilliseconds(successful)),
                                    unit: "ms", color: "#4c9a6a"))
        body += "</div>\n"
        body += "<h2>Summary</h2>\n" + summaryTable(summary)
        body += "<h2>Run</h2>\n" + keyValueTable(summary)
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>\(escape(pageTitle))</title>
        <style>
        body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1160px;color:#1d2330;padding:0 16px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
        .sub{color:#5b6475;margin:0 0 16px}
        pre{background:#f4f6f9;border:1px solid #e1e5ec;border-radius:6px;padding:10px 12px;margin:0;font-size:13px}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:16px;margin-top:16px}
        figure{margin:0;border:1px solid #e1e5ec;border-radius:6px;padding:10px}
        figcaption{font-weight:600;margin-bottom:4px}
        table{border-collapse:collapse;font-size:13px}
        th,td{border-bottom:1px solid #e6e9ef;padding:4px 10px;text-align:right}
        th:first-child,td:first-child{text-align:left}
        thead th{background:#f4f6f9}
        svg text{font-size:11px;fill:#5b6475}
        </style></head>
        <body>
        \(body)</body></html>

        """
    }

    static func describeRun(_ result: LoadTestResult) -> String {
        let config = result.config
        let mode: String
        switch config.arrivalMode {
        case .closedLoop: mode = "closed loop, \(config.concurrentRequests) concurrent users"
        case .openLoop(let rate):
            mode = "open loop, \(TextFormat.fixed(rate, 2)) requests/s (Poisson), at most \(config.concurrentRequests) in flight"
        }
        return "\(mode); \(result.requests.count) requests in \(TextFormat.fixed(result.wallSeconds, 1)) s; seed \(config.seed)"
            + (result.stoppedByTimeout ? "; stopped by the \(TextFormat.fixed(config.timeoutSeconds, 0)) s timeout" : "")
    }

    static func pooledGapsInMilliseconds(_ requests: [RequestMetrics]) -> [Double] {
        var gaps: [Double] = []
        for request in requests { request.appendInterChunkLatencies(to: &gaps) }
        for index in gaps.indices { gaps[index] *= 1000 }
        return gaps
    }

    /// A histogram figure (caption and inline SVG) of any sample: the recording export draws
    /// the benchmark's charts from recorded exchanges with it.
    public static func histogramFigure(_ caption: String, values: [Double], unit: String, color: String) -> String {
        figure(caption, histogramSVG(Histogram(values), unit: unit, color: color))
    }

    static func figure(_ caption: String, _ svg: String) -> String {
        "<figure><figcaption>\(escape(caption))</figcaption>\n\(svg)</figure>\n"
    }

    // MARK: charts

    static let chartWidth = 540.0
    static let chartHeight = 240.0
    static let margin = (left: 52.0, right: 12.0, top: 10.0, bottom: 34.0)

    static func histogramSVG(_ histogram: Histogram, unit: String, color: String) -> String {
        guard !histogram.counts.isEmpty else { return emptySVG("no successful requests") }
        let plotWidth = chartWidth - margin.left - margin.right
        let plotHeight = chartHeight - margin.top - margin.bottom
        let maxCount = Double(histogram.counts.max() ?? 1)
        let yTicks = ChartScale.ticks(upTo: max(1, maxCount), count: 4).filter { $0.rounded() == $0 }
        let yMax = max(maxCount, yTicks.last ?? 1)
        let barWidth = plotWidth / Double(histogram.counts.count)
        var svg = svgOpen()
        for tick in yTicks {
            let y = margin.top + plotHeight * (1 - tick / yMax)
            svg += line(margin.left, y, chartWidth - margin.right, y, stroke: "#e6e9ef")
            svg += text(margin.left - 6, y + 4, TextFormat.fixed(tick, 0), anchor: "end")
        }
        for (index, count) in histogram.counts.enumerated() where count > 0 {
            let height = plotHeight * Double(count) / yMax
            let x = margin.left + Double(index) * barWidth
            svg += "<rect x=\"\(n(x + 0.5))\" y=\"\(n(margin.top + plotHeight - height))\" width=\"\(n(max(1, barWidth - 1)))\" height=\"\(n(height))\" fill=\"\(color)\"><title>\(count) in [\(label(histogram.lowerBound + Double(index) * histogram.binWidth)), \(label(histogram.lowerBound + Double(index + 1) * histogram.binWidth))) \(unit)</title></rect>\n"
        }
        let upper = histogram.lowerBound + histogram.binWidth * Double(histogram.counts.count)
        let labelCount = 5
        for step in 0...labelCount {
            let value = histogram.lowerBound + (upper - histogram.lowerBound) * Double(step) / Double(labelCount)
            let x = margin.left + plotWidth * Double(step) / Double(labelCount)
            svg += line(x, margin.top + plotHeight, x, margin.top + plotHeight + 4, stroke: "#8a93a3")
            svg += text(x, margin.top + plotHeight + 16, label(value), anchor: "middle")
        }
        svg += line(margin.left, margin.top + plotHeight, chartWidth - margin.right, margin.top + plotHeight, stroke: "#8a93a3")
        svg += text(margin.left + plotWidth / 2, chartHeight - 4, unit, anchor: "middle")
        svg += text(12, margin.top + plotHeight / 2, "requests", anchor: "middle", rotate: true)
        return svg + "</svg>\n"
    }

    static func throughputSVG(_ series: ThroughputSeries) -> String {
        guard !series.tokensPerSecond.isEmpty, series.tokensPerSecond.contains(where: { $0 > 0 }) else {
            return emptySVG("no tokens received")
        }
        let plotWidth = chartWidth - margin.left - margin.right
        let plotHeight = chartHeight - margin.top - margin.bottom
        let peak = series.tokensPerSecond.max() ?? 1
        let yTicks = ChartScale.ticks(upTo: peak, count: 4)
        let yMax = max(peak, yTicks.last ?? peak)
        let duration = series.bucketSeconds * Double(series.tokensPerSecond.count)
        var svg = svgOpen()
        for tick in yTicks {
            let y = margin.top + plotHeight * (1 - tick / yMax)
            svg += line(margin.left, y, chartWidth - margin.right, y, stroke: "#e6e9ef")
            svg += text(margin.left - 6, y + 4, label(tick), anchor: "end")
        }
        var points: [String] = ["\(n(margin.left)),\(n(margin.top + plotHeight))"]
        for (index, value) in series.tokensPerSecond.enumerated() {
            let x0 = margin.left + plotWidth * Double(index) / Double(series.tokensPerSecond.count)
            let x1 = margin.left + plotWidth * Double(index + 1) / Double(series.tokensPerSecond.count)
            let y = margin.top + plotHeight * (1 - value / yMax)
            points.append("\(n(x0)),\(n(y))")
            points.append("\(n(x1)),\(n(y))")
        }
        points.append("\(n(margin.left + plotWidth)),\(n(margin.top + plotHeight))")
        svg += "<polygon points=\"\(points.joined(separator: " "))\" fill=\"#7a5cc2\" fill-opacity=\"0.25\" stroke=\"#7a5cc2\" stroke-width=\"1.5\"/>\n"
        for tick in ChartScale.ticks(upTo: duration, count: 6) {
            let x = margin.left + plotWidth * tick / duration
            svg += line(x, margin.top + plotHeight, x, margin.top + plotHeight + 4, stroke: "#8a93a3")
            svg += text(x, margin.top + plotHeight + 16, label(tick), anchor: "middle")
        }
        svg += line(margin.left, margin.top + plotHeight, chartWidth - margin.right, margin.top + plotHeight, stroke: "#8a93a3")
        svg += text(margin.left + plotWidth / 2, chartHeight - 4,
                    "seconds since start (\(label(series.bucketSeconds)) s buckets)", anchor: "middle")
        svg += text(12, margin.top + plotHeight / 2, "tokens/s", anchor: "middle", rotate: true)
        return svg + "</svg>\n"
    }

    static func emptySVG(_ message: String) -> String {
        svgOpen() + text(chartWidth / 2, chartHeight / 2, message, anchor: "middle") + "</svg>\n"
    }

    static func svgOpen() -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(chartWidth)) \(n(chartHeight))\" width=\"100%\" role=\"img\">\n"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String) -> String {
        "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\"/>\n"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, rotate: Bool = false) -> String {
        let transform = rotate ? " transform=\"rotate(-90 \(n(x)) \(n(y)))\"" : ""
        return "<text x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\"\(transform)>\(escape(content))</text>\n"
    }

    /// Compact axis label: up to 3 significant decimals, no trailing zeros.
    static func label(_ value: Double) -> String {
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        var text = TextFormat.fixed(value, decimals)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    static func n(_ value: Double) -> String { TextFormat.fixed(value, 1) }

    // MARK: tables

    static func summaryTable(_ summary: LoadTestSummary) -> String {
        var html = "<table><thead><tr><th>metric</th><th>unit</th><th>p25</th><th>p50</th><th>p75</th><th>p90</th><th>p95</th><th>p99</th><th>mean</th><th>min</th><th>max</th><th>stddev</th></tr></thead><tbody>\n"
        for row in TextReport.tableRows {
            guard let distribution = summary.distributions[row.key] else { continue }
            let decimals = row.unit == "tok" ? 1 : 2
            let cells = distribution.quantiles + [distribution.mean, distribution.min, distribution.max, distribution.stddev]
            html += "<tr><td>\(escape(row.label))</td><td>\(escape(row.unit))</td>"
                + cells.map { "<td>\(TextFormat.fixed($0 * row.scale, decimals))</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    static func keyValueTable(_ summary: LoadTestSummary) -> String {
        var html = "<table><tbody>\n"
        for member in summary.json.members where !member.key.hasPrefix("results_") || !member.key.contains("_quantiles_") {
            if member.key.hasPrefix("results_"), ["_mean", "_min", "_max", "_stddev"].contains(where: member.key.hasSuffix) { continue }
            html += "<tr><td>\(escape(member.key))</td><td>\(escape(display(member.value)))</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    static func display(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .double(let number): return JSONValue.formatNumber(number)
        default: return value.serialized()
        }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
