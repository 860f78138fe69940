import SystemKit
import ArgumentParser
import CellbookEngine
import Foundation

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a playbook's cells with their status: not run, cached, stale, released, failed, interrupted.",
        discussion: "Example:\n  cellbook list deploy-llama3 --format json")

    @OptionGroup var options: PlaybookOptions
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() async throws {
        let config = try options.load(requireSecrets: false)
        let rows = try SessionInspector(config: config, outputsRoot: try options.outputsRoot(), session: try options.sessionName()).rows()
        if format == .json { return try printJSON(rows) }
        var table = [["#", "cell", "kind", "status", "last run", "took"]]
        for r in rows {
            table.append([String(r.index), r.id, r.kind, r.status.rawValue,
                          r.finishedAt.map(Format.timestamp) ?? "-", r.lastDurationSeconds.map(Format.duration) ?? "-"])
        }
        print("\(config.playbook.title) · target \(config.target.name)\n")
        print(Format.table(table, alignRight: [0, 5]))
    }
}
