import ArgumentParser
import CellbookEngine
import CellbookKinds
import CellbookRecording
import Foundation
import PlaybookModel
import SystemKit

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the recorded playbook again and compare each cell's outputs with the recording.",
        discussion: """
            Outputs are compared by the rules a cell sets under `check:` (exact by default; {rel: x} or {abs: x}
            for numbers; shape for free text and timings; ignore). Nothing is cached or kept: every cell runs.
            Exit 0 when every cell matches, 1 on drift (a readable diff per drifting cell), 2 on a usage error.

            Examples:
              cellbook check recordings/deploy-llama3-local.jsonl                  re-run on the recorded target
              cellbook check recordings/deploy-llama3-local.jsonl --target replay  the machinery alone, offline
              cellbook check outputs/shell-basics/laptop/recordings/latest.jsonl --set greeting=Hi
            """)

    @Argument(help: "The recording to compare with.") var recording: String
    @Option(help: "Run on this target instead of the recorded one (replay: answers from the recording itself).") var target: String?
    @Option(help: "The playbook file (default: the one the recording names).") var playbook: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a param on top of the recorded overrides (repeatable).", valueName: "key=value"))
    var overrides: [String] = []
    @Option(help: "Output format: text, or json (the verdicts on stdout; the run's output on stderr).") var format: OutputFormat = .text
    @Option(help: "On the replay target: answer this many times faster than recorded.") var speed: Double?
    @Option(help: "The outputs folder (default: ./outputs, or $CELLBOOK_OUTPUTS); nothing is written there.") var outputs: String?

    /// The playbook on the chosen target, with the recorded overrides and any new ones.
    func load(_ file: String, recorded: Recording, environment: [String: String]) throws -> RunConfiguration {
        let validation = PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: environment)
        let all = recorded.header.overrides + overrides
        // A playbook without targets runs on its implicit one ("default"), which no --target names.
        let implicit = target == nil && recorded.header.target == "default"
        if implicit, let config = try? validation.load(path: file, target: nil, overrides: all) { return config }
        return try validation.load(path: file, target: target ?? recorded.header.target, overrides: all)
    }

    func run() async throws {
        let recorded: Recording
        do {
            recorded = try Recording.load(recording)
        } catch {
            throw EngineError.usage("\(error)")
        }
        let environment = ProcessInfo.processInfo.environment
        let file = playbook ?? recorded.header.playbook.file
        var config = try load(file, recorded: recorded, environment: environment)
        // The replay target replays the recording being checked.
        if config.target.settings["runtime"]?.stringValue == "replay" {
            config.target.settings["recording"] = .string(recording)
            if let speed { config.target.settings["speed"] = .double(speed) }
        }
        if let digest = try? SHA256Digest.hex(fileAt: file), digest != recorded.header.playbook.sha256 {
            try? FileHandle.standardError.write(contentsOf: Data("note: \(file) has changed since the recording was made\n".utf8))
        }
        let runner = PlaybookRunner(config: config, kinds: allCellKinds,
                                    outputsRoot: outputs ?? environment["CELLBOOK_OUTPUTS"] ?? "outputs",
                                    cacheDirectory: PlaybookOptions.cacheDirectory(environment), environment: environment)
        var o = RunOptions()
        o.noCache = true
        o.json = format == .json
        o.jsonSummary = false
        let summary = try await runner.run(o)
        let verdicts = RecordingCheck(recording: recorded, playbook: config.playbook).compare(summary)
        if format == .json {
            try printJSON(RecordingCheck.Report(recording: recording, target: config.target.name, runExitCode: summary.exitCode, cells: verdicts))
        } else {
            try? FileHandle.standardOutput.write(contentsOf: Data(RecordingCheck.report(verdicts, recordingPath: recording).utf8))
        }
        if verdicts.contains(where: { !$0.matches }) { throw ExitCode(1) }
    }
}
