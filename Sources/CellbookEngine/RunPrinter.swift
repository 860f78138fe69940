import SystemKit
import Foundation
import PlaybookModel

/// How a run reads on the terminal: like a notebook, narrative then a header per cell, its
/// output and duration, and a summary line. In JSON mode everything but the summary goes to stderr.
struct RunPrinter {
    let json: Bool
    /// Where everything printed goes (and is recorded from).
    var output = RunOutput()

    enum Answer { case run, skip, quit }

    private func emit(_ s: String) {
        output.show(s + "\n", standardError: json)
    }

    func line(_ s: String) { emit(s) }

    func header(_ c: RunConfiguration, store: StateStore, dryRun: Bool) {
        emit(Format.bold("\(c.playbook.title)") + (dryRun ? "  (dry run: nothing is executed or written)" : ""))
        var facts = ["playbook \(c.playbook.file)", "target \(c.target.name)", "state \(store.directory)"]
        if let s = c.playbook.source { facts.append("replays \(s)") }
        emit(Format.dim(facts.joined(separator: " · ")))
        if let d = c.target.description { emit(Format.dim("target \(c.target.name): \(d.trimmingCharacters(in: .whitespacesAndNewlines))")) }
    }

    func narrative(_ cell: CellSpec) {
        guard let md = cell.markdown?.trimmingCharacters(in: .whitespacesAndNewlines), !md.isEmpty else { return }
        emit("")
        for l in md.split(separator: "\n", omittingEmptySubsequences: false) {
            if l.hasPrefix("#") {
                emit(Format.bold(String(l.drop(while: { $0 == "#" || $0 == " " }))))
            } else {
                emit(String(l))
            }
        }
    }

    private func rule(_ cell: CellSpec, index: Int, total: Int, status: String) {
        let left = "── [\(index + 1)/\(total)] \(cell.id) · \(cell.title) "
        let pad = max(3, 78 - left.count - status.count)
        emit("")
        emit(Format.bold(left) + Format.dim(String(repeating: "─", count: pad)) + " " + status)
    }

    func running(_ cell: CellSpec, index: Int, total: Int) {
        rule(cell, index: index, total: total, status: Format.yellow("running"))
    }

    func cached(_ cell: CellSpec, index: Int, total: Int, record: CellRecord, log: String?) {
        let took = record.durationSeconds.map { ", took \(Format.duration($0))" } ?? ""
        rule(cell, index: index, total: total, status: Format.green("cached") + Format.dim(" (ran \(Format.timestamp(record.finishedAt ?? record.startedAt))\(took))"))
        if let log, !log.isEmpty {
            for l in log.split(separator: "\n", omittingEmptySubsequences: false).dropLast(log.hasSuffix("\n") ? 1 : 0) {
                emit("  " + l)
            }
        }
    }

    func dryRun(_ cell: CellSpec, index: Int, total: Int, inputs: [String: Value], status: String) {
        rule(cell, index: index, total: total, status: Format.yellow(status))
        for (k, v) in inputs.sorted(by: { $0.key < $1.key }) {
            emit("  \(k): \(v.interpolationText)")
        }
    }

    func skipped(_ cell: CellSpec) { emit(Format.dim("  skipped '\(cell.id)'")) }

    func note(_ s: String) { emit(Format.yellow("  \(s)")) }

    func finished(_ cell: CellSpec, seconds: Double) {
        emit(Format.green("  ✓ \(cell.id) done in \(Format.duration(seconds))"))
    }

    func failed(_ cell: CellSpec, error: String, interrupted: Bool) {
        let head = interrupted ? "✗ \(cell.id) interrupted" : "✗ \(cell.id) failed"
        emit(Format.red("  \(head): ") + error.replacingOccurrences(of: "\n", with: "\n    "))
        emit(interrupted ? "  The next run re-runs '\(cell.id)'; cells before it stay cached."
                         : "  Fix the cause and run again: cells before '\(cell.id)' come from cache and the run resumes here.")
    }

    /// Shows the --step question for a cell.
    func prompt(_ cell: CellSpec, index: Int, total: Int, cached: Bool) {
        let what = cached ? "[r]un (show cached result)" : "[r]un"
        // Prompts are not data: in JSON mode stdout carries only the summary.
        output.show("\n[\(index + 1)/\(total)] \(cell.id) · \(cell.title): \(what) / [s]kip / [q]uit (r)? ", standardError: json)
    }

    /// What a typed answer means; nil (after saying what to type) for anything else.
    func answer(_ text: String) -> Answer? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "r", "run", "y", "yes": return .run
        case "s", "skip", "n": return .skip
        case "q", "quit": return .quit
        default:
            emit("  answer r, s or q")
            return nil
        }
    }

    /// A message that is not part of the run's output: stderr.
    func problem(_ s: String) {
        output.show(s + "\n", standardError: true)
    }

    func summary(_ s: RunSummary, dryRun: Bool) {
        if json {
            let data = (try? JSONEncoder.pretty.encode(s)) ?? Data()
            try? FileHandle.standardOutput.write(contentsOf: data + Data("\n".utf8))
            return
        }
        func count(_ st: CellOutcome.Status) -> Int { s.cells.filter { $0.status == st }.count }
        var parts = ["\(s.cells.count) cell\(s.cells.count == 1 ? "" : "s")"]
        if dryRun {
            parts.append("\(count(.wouldRun)) would run")
            if count(.mayRun) > 0 { parts.append("\(count(.mayRun)) may run") }
            parts.append("\(count(.cached)) cached")
        } else {
            parts += ["\(count(.ran)) ran", "\(count(.cached)) cached"]
            if count(.skipped) > 0 { parts.append("\(count(.skipped)) skipped") }
            parts.append("\(count(.failed)) failed")
            if count(.interrupted) > 0 { parts.append("\(count(.interrupted)) interrupted") }
        }
        parts.append(Format.duration(s.elapsedSeconds))
        emit("")
        let text = "Summary: " + parts.joined(separator: " · ")
        emit(s.exitCode == 0 ? Format.bold(text) : Format.red(text))
    }
}
