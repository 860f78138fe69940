import CellbookRecording
import Foundation
import PlaybookModel

/// The formats a recording can be exported to.
public enum ExportFormat: String, CaseIterable, Sendable {
    case md, html, ipynb, cast

    public var fileExtension: String { rawValue }

    public func render(_ recording: Recording) -> String {
        switch self {
        case .md: MarkdownExport.render(recording)
        case .html: HTMLExport.render(recording)
        case .ipynb: NotebookExport.render(recording)
        case .cast: CastExport.render(recording)
        }
    }
}

/// What the exports share: a cell's output as plain text, its inputs as a code listing.
enum ExportText {
    /// Terminal text as a reader would see it at the end: escapes removed, a line redrawn in
    /// place (`\r`) reduced to its last state.
    static func plain(_ text: String) -> String {
        var noEscapes = ""
        var it = text.makeIterator()
        while let c = it.next() {
            if c == "\u{1B}" {
                // CSI: ESC [ params final-byte (@ to ~).
                guard let next = it.next() else { break }
                if next == "[" {
                    while let d = it.next(), !(d.isLetter || d == "~" || d == "@") {}
                }
                continue
            }
            noEscapes.append(c)
        }
        return noEscapes.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.split(separator: "\r", omittingEmptySubsequences: true).last.map(String.init) ?? ""
        }.joined(separator: "\n")
    }

    /// The cell's own output: what was printed after its header line, without the two-space indent.
    static func output(_ cell: Recording.Cell) -> String {
        let prints = cell.prints
        guard let rule = prints.firstIndex(where: { $0.text.contains("── [") }) else { return "" }
        let text = plain(prints[(rule + 1)...].map(\.text).joined())
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("  ") ? String($0.dropFirst(2)) : String($0) }
            .joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    /// The inputs as the cell ran with them: a shell cell's command as it is, the rest as YAML-like lines.
    static func inputs(_ cell: Recording.Cell) -> String {
        let inputs = cell.start.inputs
        if cell.start.kind == "shell", let command = inputs["command"]?.stringValue {
            var rest = inputs
            rest["command"] = nil
            let extra = rest.isEmpty ? "" : "\n# with: " + rest.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.interpolationText)" }.joined(separator: ", ")
            return command.trimmingCharacters(in: .newlines) + extra
        }
        return lines(inputs).joined(separator: "\n")
    }

    static func lines(_ object: [String: Value], indent: String = "") -> [String] {
        var out: [String] = []
        for (k, v) in object.sorted(by: { $0.key < $1.key }) {
            switch v {
            case .object(let o) where !o.isEmpty:
                out.append("\(indent)\(k):")
                out += lines(o, indent: indent + "  ")
            case .string(let s) where s.contains("\n"):
                out.append("\(indent)\(k): |")
                out += s.trimmingCharacters(in: .newlines).split(separator: "\n", omittingEmptySubsequences: false).map { "\(indent)  \($0)" }
            default:
                out.append("\(indent)\(k): \(v.interpolationText)")
            }
        }
        return out
    }

    static func json(_ value: [String: Value]) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds else { return "" }
        return s < 1 ? String(format: "%.0f ms", s * 1000) : s < 120 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }

    static func status(_ cell: Recording.Cell) -> String { cell.end?.status ?? "did not finish" }

    static func recordedAt(_ r: Recording) -> String { ISO8601DateFormatter().string(from: r.header.startedAt) }
}

/// The tutorial as it ran, in Markdown: narrative, each cell's inputs, output, published values and timing.
public enum MarkdownExport {
    public static func render(_ r: Recording) -> String {
        let h = r.header
        var out = "# \(h.playbook.title)\n\n"
        out += "> Recorded by cellbook \(h.cellbookVersion) on target `\(h.target)` at \(ExportText.recordedAt(r)) · playbook `\(h.playbook.file)` (sha256 `\(h.playbook.sha256.prefix(12))`)"
        if let s = h.playbook.source { out += " · replays \(s)" }
        out += "\n"
        if !h.overrides.isEmpty { out += ">\n> Overrides: " + h.overrides.map { "`--set \($0)`" }.joined(separator: " ") + "\n" }
        for cell in r.cells {
            if let md = cell.start.markdown?.trimmingCharacters(in: .whitespacesAndNewlines), !md.isEmpty { out += "\n\(md)\n" }
            if cell.start.kind == "note" { continue }
            out += "\n**`\(cell.start.id)`** · \(cell.start.title) · \(cell.start.kind) · \(ExportText.status(cell))"
            if let d = cell.end?.durationS { out += " · \(ExportText.duration(d))" }
            out += "\n\n```\(cell.start.kind == "shell" ? "sh" : "yaml")\n\(ExportText.inputs(cell))\n```\n"
            let output = ExportText.output(cell)
            if !output.isEmpty { out += "\nOutput:\n\n```text\n\(output)\n```\n" }
            if let outputs = cell.end?.outputs, !outputs.isEmpty {
                out += "\nPublished values:\n\n```json\n\(ExportText.json(outputs))\n```\n"
            }
            if let e = cell.end?.error { out += "\n> **Failed:** \(e.replacingOccurrences(of: "\n", with: " "))\n" }
        }
        if let end = r.end { out += "\n---\nRun finished with exit code \(end.exitCode) in \(ExportText.duration(end.elapsedS)).\n" }
        return out
    }
}
