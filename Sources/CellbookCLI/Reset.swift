import ArgumentParser
import CellbookEngine
import Foundation

struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget a cell's cached result (or the whole session) so it runs again.",
        discussion: "Reset does not stop servers or delete endpoints: run the cleanup cell for that.\n\nExamples:\n  cellbook reset deploy-llama3 chat\n  cellbook reset deploy-llama3")

    @OptionGroup var options: PlaybookOptions
    @Argument(help: "The cell to reset (default: every cell).") var cell: String?

    func run() async throws {
        let config = try options.load(requireSecrets: false)
        try SessionInspector(config: config, outputsRoot: options.outputsRoot).reset(cell: cell)
        print(cell.map { "Reset cell '\($0)'." } ?? "Reset every cell of \(config.playbook.name) on target \(config.target.name).")
    }
}
