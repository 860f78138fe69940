import ArgumentParser
import CellbookEngine
import Foundation
import PlaybookModel

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a playbook and report every problem with file, line and column.",
        discussion: "Exit code 2 when there are problems; nothing is run or written.\n\nExample:\n  cellbook validate playbooks/deploy-llama3.yaml --target local")

    @OptionGroup var options: PlaybookOptions
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    struct Report: Encodable {
        var valid: Bool
        var playbook: String
        var target: String?
        var cells: Int?
        var problems: [Diagnostic]
        /// Problems found beyond those listed.
        var moreProblems: Int?

        enum CodingKeys: String, CodingKey {
            case valid, playbook, target, cells, problems
            case moreProblems = "more_problems"
        }
    }

    func run() async throws {
        do {
            let config = try options.load()
            if format == .json {
                try printJSON(Report(valid: true, playbook: options.playbookPath, target: config.target.name,
                                     cells: config.playbook.cells.count, problems: []))
            } else {
                let n = config.playbook.cells.count
                print("\(options.playbookPath): valid (\(n) cell\(n == 1 ? "" : "s"), target \(config.target.name))")
            }
        } catch let e as PlaybookError where format == .json {
            try printJSON(Report(valid: false, playbook: options.playbookPath, target: options.target, cells: nil, problems: e.diagnostics,
                                 moreProblems: e.omitted > 0 ? e.omitted : nil))
            throw ExitCode(2)
        }
    }
}
