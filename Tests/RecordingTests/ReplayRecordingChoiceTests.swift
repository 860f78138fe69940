@testable import ReplayServing
import Foundation
import PlaybookModel
import ServingKit
import Testing

private struct SilentConsole: ServingConsole {
    func line(_ text: String) {}
    func write(_ text: String) {}
    func progress(_ text: String, final: Bool) {}
}

@Suite("Replay target: which recording")
struct ReplayRecordingChoiceTests {
    static func context(_ outputs: String, settings: [String: Value] = [:]) -> ServingContext {
        ServingContext(targetName: "replay", settings: settings, playbookName: "pb", cellID: "chat", console: SilentConsole(),
                       workDirectory: "\(outputs)/pb/replay/cells/chat", stateDirectory: "\(outputs)/pb/replay",
                       cacheDirectory: "/nonexistent", environment: [:])
    }

    @Test("without a setting, the newest latest.jsonl of another target of the playbook")
    func newestOfOtherTargets() throws {
        let outputs = temporaryFolder("replay-choice")
        defer { try? FileManager.default.removeItem(atPath: outputs) }
        for target in ["local", "replay"] {
            let folder = "\(outputs)/pb/\(target)/recordings"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "{}".write(toFile: "\(folder)/x.jsonl", atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: "\(folder)/latest.jsonl", withDestinationPath: "x.jsonl")
        }
        #expect(try ReplayTarget.recordingPath(Self.context(outputs)) == "\(outputs)/pb/local/recordings/latest.jsonl")
    }

    @Test("no recording anywhere, or a missing file: an error that says what to do")
    func nothingToReplay() throws {
        let outputs = temporaryFolder("replay-none")
        #expect(throws: ServingFailure.self) { try ReplayTarget.recordingPath(Self.context(outputs)) }
        do {
            _ = try ReplayTarget.recordingPath(Self.context(outputs, settings: ["recording": "nope.jsonl"]))
        } catch let failure as ServingFailure {
            #expect(failure.message.contains("the recording nope.jsonl does not exist"))
            #expect(failure.detail?.contains("--record nope.jsonl") == true)
        }
    }
}
