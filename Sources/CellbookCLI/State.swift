import SystemKit
import ArgumentParser
import CellbookEngine
import Foundation
import PlaybookModel

struct State: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the session state: every value the cells have published.",
        discussion: "Example:\n  cellbook state deploy-llama3 --format json")

    @OptionGroup var options: PlaybookOptions
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() async throws {
        let config = try options.load(requireSecrets: false)
        let inspector = SessionInspector(config: config, outputsRoot: try options.outputsRoot(), session: try options.sessionName())
        let values = try inspector.values()
        let released = try inspector.load().cells.compactMapValues(\.releasedBy)
        if format == .json {
            return try printJSON(Value.object(Dictionary(values.map { ($0.0, Value.object($0.1)) }, uniquingKeysWith: { a, _ in a })))
        }
        if values.isEmpty { print("No values yet: run the playbook first (cellbook run \(options.playbook)).") }
        for (cell, outputs) in values {
            print(Format.bold(cell) + (released[cell].map { Format.dim("  (released by \($0): no longer running)") } ?? ""))
            for (k, v) in outputs.sorted(by: { $0.key < $1.key }) {
                let text = v.interpolationText.replacingOccurrences(of: "\n", with: " ⏎ ")
                print("  \(k) = \(text.count > 120 ? String(text.prefix(120)) + "…" : text)")
            }
        }
    }
}
