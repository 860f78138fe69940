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
              cellbook replay sagemaker-run.jsonl --max-pause 3    a 12-minute deploy waits 3 s
            """)

    @Argument(help: "The recording (a .jsonl file written by `cellbook run`).") var recording: String
    @Option(help: "Play this many times faster than recorded (0.5: half speed).") var speed: Double = 1
    @Flag(help: "Print everything at once, without the recorded pauses.") var noWait = false
    @Option(help: ArgumentHelp("Cut any longer pause to this many seconds (a long deploy in a workshop).", valueName: "seconds"))
    var maxPause: Double?

    func validate() throws {
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a number above 0, not \(speed)") }
        if let maxPause, !(maxPause >= 0 && maxPause.isFinite) {
            throw ValidationError("--max-pause must be a number of seconds, 0 or more, not \(maxPause)")
        }
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
        await RecordingPlayer(speed: speed, wait: !noWait, maxPause: maxPause).play(loaded) { text, toStandardError in
            try? (toStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(contentsOf: Data(text.utf8))
        }
    }
}
