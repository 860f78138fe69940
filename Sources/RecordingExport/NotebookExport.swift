import CellbookRecording
import Foundation
import PlaybookModel

/// A Jupyter notebook (nbformat 4.5): a markdown cell per narrative, a code cell per cell with
/// its inputs as source and what it printed and published as outputs; cellbook's own facts
/// (kind, status, timings, playbook) in the metadata.
public enum NotebookExport {
    public static func render(_ r: Recording) -> String {
        var cells: [Value] = []
        var used = Set<String>()
        func id(_ base: String) -> String {
            let clean = String(base.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(56))
            var candidate = clean.isEmpty ? "cell" : clean
            var n = 2
            while used.contains(candidate) { candidate = "\(clean)-\(n)"; n += 1 }
            used.insert(candidate)
            return candidate
        }
        func source(_ text: String) -> Value {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            return .array(lines.enumerated().map { i, l in .string(i < lines.count - 1 ? l + "\n" : l) })
        }
        let h = r.header
        var intro = "# \(h.playbook.title)\n\nRecorded by cellbook \(h.cellbookVersion) on target `\(h.target)` at \(ExportText.recordedAt(r))."
        if let s = h.playbook.source { intro += " Replays \(s)." }
        cells.append(["cell_type": "markdown", "id": .string(id("title")), "metadata": [:], "source": source(intro)])
        var count = 0
        for cell in r.cells {
            if let md = cell.start.markdown?.trimmingCharacters(in: .whitespacesAndNewlines), !md.isEmpty {
                cells.append(["cell_type": "markdown", "id": .string(id("\(cell.start.id)-md")), "metadata": [:], "source": source(md)])
            }
            if cell.start.kind == "note" { continue }
            count += 1
            var outputs: [Value] = []
            let printed = ExportText.output(cell)
            if !printed.isEmpty { outputs.append(["output_type": "stream", "name": "stdout", "text": source(printed + "\n")]) }
            if let values = cell.end?.outputs, !values.isEmpty {
                outputs.append(["output_type": "display_data", "metadata": [:],
                                "data": ["application/json": .object(values), "text/plain": source(ExportText.json(values))]])
            }
            if let e = cell.end?.error { outputs.append(["output_type": "stream", "name": "stderr", "text": source(e + "\n")]) }
            var meta: [String: Value] = ["id": .string(cell.start.id), "kind": .string(cell.start.kind), "title": .string(cell.start.title),
                                         "status": .string(ExportText.status(cell)), "started_s": .double(cell.start.t)]
            if let d = cell.end?.durationS { meta["duration_s"] = .double(d) }
            if !cell.exchanges.isEmpty { meta["http_exchanges"] = .int(cell.exchanges.count) }
            cells.append(["cell_type": "code", "id": .string(id(cell.start.id)), "execution_count": .int(count),
                          "metadata": ["cellbook": .object(meta)], "outputs": .array(outputs),
                          "source": source(ExportText.inputs(cell))])
        }
        let notebook: Value = [
            "nbformat": 4, "nbformat_minor": 5,
            "metadata": [
                "language_info": ["name": .string(r.cells.contains { $0.start.kind == "shell" } ? "bash" : "yaml")],
                "cellbook": ["playbook": .string(h.playbook.name), "file": .string(h.playbook.file), "sha256": .string(h.playbook.sha256),
                             "target": .string(h.target), "cellbook_version": .string(h.cellbookVersion),
                             "started_at": .string(ExportText.recordedAt(r)), "params": .object(h.params),
                             "overrides": .array(h.overrides.map(Value.string))],
            ],
            "cells": .array(cells),
        ]
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? e.encode(notebook)).map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
    }
}
