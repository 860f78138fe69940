import CellbookRecording
import Foundation
import LoadBench
import PlaybookModel

/// One self-contained page: inline CSS and SVG, no scripts, no external resources, so it opens
/// offline. The benchmark's charts are drawn from its recorded exchanges with LoadBench's charts.
public enum HTMLExport {
    public static func render(_ r: Recording) -> String {
        let h = r.header
        var body = "<h1>\(escape(h.playbook.title))</h1>\n"
        var facts = ["recorded by cellbook \(h.cellbookVersion)", "target \(h.target)", ExportText.recordedAt(r), "playbook \(h.playbook.file)"]
        if let s = h.playbook.source { facts.append("replays \(s)") }
        body += "<p class=\"sub\">\(escape(facts.joined(separator: " · ")))</p>\n"
        for cell in r.cells {
            body += "<section class=\"cell\" id=\"cell-\(escape(cell.start.id))\">\n"
            if let md = cell.start.markdown, !md.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                body += "<div class=\"md\">\(markdown(md))</div>\n"
            }
            if cell.start.kind != "note" {
                let status = ExportText.status(cell)
                body += "<div class=\"head\"><code>\(escape(cell.start.id))</code> \(escape(cell.start.title)) "
                    + "<span class=\"kind\">\(escape(cell.start.kind))</span> <span class=\"st \(status == "failed" ? "bad" : "ok")\">\(escape(status))</span>"
                    + "<span class=\"dur\">\(escape(ExportText.duration(cell.end?.durationS)))</span></div>\n"
                body += "<details><summary>inputs</summary><pre>\(escape(ExportText.inputs(cell)))</pre></details>\n"
                // The benchmark's charts first: they are what a reader looks for.
                if cell.start.kind == "benchmark" { body += charts(cell) }
                let output = ExportText.output(cell)
                if !output.isEmpty { body += "<pre class=\"out\">\(escape(output))</pre>\n" }
                if let outputs = cell.end?.outputs, !outputs.isEmpty {
                    body += "<details><summary>published values</summary><pre>\(escape(ExportText.json(outputs)))</pre></details>\n"
                }
                if let e = cell.end?.error { body += "<p class=\"bad\">\(escape(e))</p>\n" }
            }
            body += "</section>\n"
        }
        if let end = r.end {
            body += "<p class=\"sub\">Run finished with exit code \(end.exitCode) in \(escape(ExportText.duration(end.elapsedS))).</p>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(h.playbook.title))</title>
        <link rel="icon" href="data:,">
        <style>
        body{font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;padding:0 16px}
        h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:26px 0 6px}h3{font-size:16px}
        .sub{color:#5b6475}
        .cell{margin:10px 0 18px}
        .head{margin:8px 0 4px;font-size:14px}.head code{font-weight:600}
        .kind{color:#5b6475;margin-left:6px}.st{margin-left:6px;padding:0 6px;border-radius:4px}
        .ok{background:#e4f4e8;color:#1e6b34}.bad{background:#fbe7e7;color:#9b1c1c}.dur{color:#5b6475;margin-left:8px}
        pre{background:#f4f6f9;border:1px solid #e1e5ec;border-radius:6px;padding:8px 10px;margin:4px 0;font-size:12.5px;overflow-x:auto;white-space:pre-wrap}
        pre.out{background:#10141c;color:#e6e9ef;border-color:#10141c}
        details summary{cursor:pointer;color:#3b6fb6;font-size:13px}
        code{background:#f4f6f9;padding:0 3px;border-radius:3px}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px;margin:8px 0}
        figure{margin:0;border:1px solid #e1e5ec;border-radius:6px;padding:8px}
        figcaption{font-weight:600;margin-bottom:4px;font-size:13px}
        svg{max-width:100%;height:auto}svg text{font-size:11px;fill:#5b6475}
        </style></head>
        <body>
        \(body)</body></html>

        """
    }

    /// Time to first token, latency and the gaps between pieces, per recorded request.
    static func charts(_ cell: Recording.Cell) -> String {
        let requests = cell.exchanges.filter { !$0.path.hasSuffix("/tokenize") && ($0.status ?? 0) / 100 == 2 }
        guard !requests.isEmpty else { return "" }
        var ttft: [Double] = [], latency: [Double] = [], gaps: [Double] = []
        for x in requests {
            let content = x.chunks.filter { $0.text.contains("\"content\":\"") && !$0.text.contains("\"content\":\"\"") }
            if let first = content.first { ttft.append(first.dt * 1000) }
            latency.append(x.durationS * 1000)
            for (a, b) in zip(content, content.dropFirst()) { gaps.append((b.dt - a.dt) * 1000) }
        }
        return "<div class=\"grid\">\n"
            + HTMLReport.histogramFigure("Time to first token (ms), \(requests.count) recorded requests", values: ttft, unit: "ms", color: "#3b6fb6")
            + HTMLReport.histogramFigure("End-to-end latency (ms)", values: latency, unit: "ms", color: "#b65f3b")
            + HTMLReport.histogramFigure("Gap between chunks (ms)", values: gaps, unit: "ms", color: "#4c9a6a")
            + "</div>\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// The Markdown narrative cells use: headings, paragraphs, lists, `code` and **bold**.
    static func markdown(_ md: String) -> String {
        var html = "", paragraph: [String] = [], inList = false
        func inline(_ s: String) -> String {
            var t = escape(s)
            t = t.replacingOccurrences(of: #"`([^`]+)`"#, with: "<code>$1</code>", options: .regularExpression)
            t = t.replacingOccurrences(of: #"\*\*([^*]+)\*\*"#, with: "<strong>$1</strong>", options: .regularExpression)
            return t
        }
        func flush() {
            if !paragraph.isEmpty { html += "<p>\(inline(paragraph.joined(separator: " ")))</p>\n" }
            paragraph = []
            if inList { html += "</ul>\n"; inList = false }
        }
        for raw in md.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { flush(); continue }
            if line.hasPrefix("#") {
                flush()
                let level = min(6, max(2, line.prefix(while: { $0 == "#" }).count))
                html += "<h\(level)>\(inline(String(line.drop(while: { $0 == "#" || $0 == " " }))))</h\(level)>\n"
            } else if line.hasPrefix("- ") || line.hasPrefix("* ") {
                if !paragraph.isEmpty { html += "<p>\(inline(paragraph.joined(separator: " ")))</p>\n"; paragraph = [] }
                if !inList { html += "<ul>\n"; inList = true }
                html += "<li>\(inline(String(line.dropFirst(2))))</li>\n"
            } else {
                paragraph.append(line)
            }
        }
        flush()
        return html
    }
}
