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
        let inspector = SessionInspector(config: config, outputsRoot: try options.outputsRoot())
        guard try inspector.reset(cell: cell) else {
            let what = cell.map { "cell '\($0)' has" } ?? "\(config.playbook.name) has"
            print("Nothing to reset: \(what) no stored result on target \(config.target.name); nothing was written.")
            return
        }
        print(cell.map { "Reset cell '\($0)'." } ?? "Reset every cell of \(config.playbook.name) on target \(config.target.name).")
    }
}
