import CellbookRecording
import Foundation
import Testing

/// The `cellbook` binary built beside the tests (or $CELLBOOK_BIN).
let cellbookBinary: String? = {
    if let explicit = ProcessInfo.processInfo.environment["CELLBOOK_BIN"] { return explicit }
    var candidates: [String] = []
    if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent().appendingPathComponent("cellbook").path) }
    for scratch in [".build-tests", ".build"] { candidates.append("\(repositoryRoot)/\(scratch)/debug/cellbook") }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

@Suite("cellbook replay", .serialized)
struct ReplayCommandTests {
    @Test("--no-wait prints the whole run as it was shown: narrative, outputs, the streamed answer, the summary")
    func noWait() throws {
        let bin = try #require(cellbookBinary, "build cellbook first")
        let r = try runTool([bin, "replay", committedRecording, "--no-wait"])
        #expect(r.code == 0, "\(r.err)")
        let recording = try Recording.load(committedRecording)
        let shown = recording.events.compactMap { if case .print(let p) = $0, p.fd == "stdout" { p.text } else { nil } }.joined()
        #expect(r.out == shown, "replay shows exactly what the run showed")
        #expect(r.out.contains("4. Run inference and chat with the model"))
        #expect(r.out.contains("assistant: Deep learning"))
    }

    @Test("at the recorded pace it takes time, and Ctrl-C stops it at once with exit 130")
    func interrupt() async throws {
        let bin = try #require(cellbookBinary, "build cellbook first")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["replay", committedRecording]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        try await Task.sleep(nanoseconds: 1_500_000_000)
        #expect(p.isRunning, "a paced replay is still playing after 1.5 s")
        let stopped = Date()
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(Date().timeIntervalSince(stopped) < 2)
        #expect(p.terminationStatus == 130)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("Deploy Llama 3 on Amazon SageMaker"))
        #expect(!text.contains("Summary:"), "stopped before the end")
    }

    @Test("a file that is not a recording is a usage error naming the file")
    func notARecording() throws {
        let bin = try #require(cellbookBinary, "build cellbook first")
        let r = try runTool([bin, "replay", "\(repositoryRoot)/Package.swift"])
        #expect(r.code == 2)
        #expect(r.err.contains("Package.swift:1: not a cellbook recording line"), "\(r.err)")
    }
}
