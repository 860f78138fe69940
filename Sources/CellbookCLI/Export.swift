import ArgumentParser
import CellbookEngine
import CellbookRecording
import Foundation
import RecordingExport
import SystemKit

extension ExportFormat: ExpressibleByArgument {}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a recording into Markdown, a self-contained HTML page, a Jupyter notebook or an asciicast.",
        discussion: """
            Examples:
              cellbook export recordings/deploy-llama3-local.jsonl --format html -o run.html
              cellbook export outputs/deploy-llama3/local/recordings/latest.jsonl --format ipynb -o run.ipynb
              cellbook export recordings/deploy-llama3-local.jsonl --format cast -o run.cast && asciinema play run.cast
              cellbook export recordings/deploy-llama3-local.jsonl --format md    (to stdout)
              cellbook export recordings/deploy-llama3-local.jsonl --format cast --only chat -o chat.cast
            """)

    @Argument(help: "The recording (a .jsonl file written by `cellbook run`).") var recording: String
    @Option(help: "md, html, ipynb or cast.") var format: ExportFormat
    @Option(help: "Export only this cell (its times counted from its start): a short cast of the chat, say.") var only: String?
    @Option(name: .shortAndLong, help: ArgumentHelp("Write here instead of to standard output.", valueName: "file")) var output: String?

    func run() async throws {
        let loaded: Recording
        do {
            loaded = try Recording.load(recording)
        } catch {
            throw EngineError.usage("\(error)")
        }
        var selected = loaded
        if let only {
            guard let one = loaded.only(only) else {
                throw EngineError.usage("--only \(only): the recording has no cell '\(only)' (it has \(loaded.cells.map(\.start.id).joined(separator: ", ")))")
            }
            selected = one
        }
        let text = format.render(selected)
        if let output {
            do {
                try AtomicFile.write(text, to: output)
            } catch {
                throw EngineError.environment("cannot write \(output): \(SystemError.describe(error))")
            }
            try? FileHandle.standardError.write(contentsOf: Data("Wrote \(output) (\(format.rawValue), \(text.utf8.count) bytes)\n".utf8))
        } else {
            try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
        }
    }
}
