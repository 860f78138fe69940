import ArgumentParser
import CellbookEngine
import Foundation

struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget a cell's cached result (or the whole session) so it runs again.",
        discussion: "Reset does not stop servers or delete endpoints: run the cleanup cell for that.\n\nExamples:\n  cellbook reset deploy-llama3 chat\n  cellbook reset deploy-llama3")

    @OptionGroup var options: PlaybookOptions
    @Argument(help: "The cell to reset (default: every cell).") var cell: String?
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    struct Report: Encodable {
        var playbook: String
        var target: String
        var cell: String?
        /// False when nothing was stored (nothing was written).
        var reset: Bool
    }

    func run() async throws {
        let config = try options.load(requireSecrets: false)
        let inspector = SessionInspector(config: config, outputsRoot: try options.outputsRoot(), session: try options.sessionName())
        let done = try inspector.reset(cell: cell)
        if format == .json {
            return try printJSON(Report(playbook: config.playbook.name, target: config.target.name, cell: cell, reset: done))
        }
        guard done else {
            let what = cell.map { "cell '\($0)' has" } ?? "\(config.playbook.name) has"
            print("Nothing to reset: \(what) no stored result on target \(config.target.name); nothing was written.")
            return
        }
        print(cell.map { "Reset cell '\($0)'." } ?? "Reset every cell of \(config.playbook.name) on target \(config.target.name).")
    }
}
