@testable import CellbookKinds
import CellbookEngine
import CellbookRecording
import Foundation
import PlaybookModel
import Testing

/// The default playbook on its `replay` target, replaying the committed recording 20x faster.
func replayRun(overrides: [String] = []) async throws -> (RunSummary, RunConfiguration) {
    let dir = temporaryFolder("replay-target")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: [:])
        .load(path: "\(repositoryRoot)/playbooks/deploy-llama3.yaml", target: "replay", overrides: overrides)
    config.target.settings["recording"] = .string(committedRecording)
    config.target.settings["speed"] = 20
    let runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs", cacheDirectory: "\(dir)/cache", environment: [:])
    var o = RunOptions()
    o.noCache = true
    o.json = true
    return (try await runner.run(o), config)
}

@Suite("Replay target", .serialized)
struct ReplayTargetTests {
    @Test("the default playbook runs every cell offline from the committed recording and matches it")
    func wholePlaybookOffline() async throws {
        let (summary, config) = try await replayRun()
        #expect(summary.exitCode == 0, "\(summary.cells.map { "\($0.id): \($0.error ?? "")" })")
        #expect(summary.cells.map(\.status) == Array(repeating: .ran, count: 6))
        let recording = try Recording.load(committedRecording)
        #expect(summary.cells.first { $0.id == "chat" }?.outputs?["content"] == recording.cell("chat")?.end?.outputs["content"])
        let verdicts = RecordingCheck(recording: recording, playbook: config.playbook).compare(summary)
        #expect(verdicts.count == 6)
        #expect(verdicts.filter { !$0.matches }.isEmpty, "\(RecordingCheck.report(verdicts, recordingPath: committedRecording))")
    }

    @Test("a question the recording does not hold fails the chat cell, naming the closest recorded request")
    func unrecordedQuestion() async throws {
        let (summary, _) = try await replayRun(overrides: ["user_prompt=What is shallow learning?"])
        #expect(summary.exitCode == 1)
        let chat = try #require(summary.cells.first { $0.id == "chat" })
        #expect(chat.status == .failed)
        let error = chat.error ?? ""
        #expect(error.contains("the recording has no answer for POST /v1/chat/completions"), "\(error)")
        #expect(error.contains("closest recorded request is POST /v1/chat/completions of cell 'chat'"), "\(error)")
        #expect(error.contains("What is deep learning?") && error.contains("What is shallow learning?"), "\(error)")
    }
}
