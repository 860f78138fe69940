import ArgumentParser
import CellbookEngine
import CellbookRecording
import Foundation

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a recorded run back in the terminal as it happened; nothing runs, no network.",
        discussion: """
            Narrative, outputs and streamed answers appear at their recorded pace (or --speed times faster).
            Ctrl-C stops the playback (exit 130).

            Examples:
              cellbook replay recordings/deploy-llama3-local.jsonl
              cellbook replay outputs/deploy-llama3/local/recordings/latest.jsonl --speed 4
              cellbook replay recordings/deploy-llama3-local.jsonl --no-wait > run.txt
            """)

    @Argument(help: "The recording (a .jsonl file written by `cellbook run`).") var recording: String
    @Option(help: "Play this many times faster than recorded (0.5: half speed).") var speed: Double = 1
    @Flag(help: "Print everything at once, without the recorded pauses.") var noWait = false

    func validate() throws {
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a number above 0, not \(speed)") }
    }

    func run() async throws {
        let loaded: Recording
        do {
            loaded = try Recording.load(recording)
        } catch {
            throw EngineError.usage("\(error)")
        }
        // Ctrl-C: end the line, reset colours, leave with the conventional code.
        signal(SIGINT) { _ in
            let reset = "\u{1B}[0m\n"
            _ = reset.withCString { write(1, $0, strlen($0)) }
            _exit(130)
        }
        await RecordingPlayer(speed: speed, wait: !noWait).play(loaded) { text, toStandardError in
            try? (toStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(contentsOf: Data(text.utf8))
        }
    }
}
