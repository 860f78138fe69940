@testable import CellbookKinds
import CellbookEngine
import CellbookRecording
import Foundation
import PlaybookModel
import RecordingExport
import Testing

/// Runs a playbook in process with a recording; returns the summary and the recording's path.
func recordRun(_ yaml: String, environment: [String: String] = [:], in dir: String) async throws -> (RunSummary, String) {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try yaml.write(toFile: "\(dir)/pb.yaml", atomically: true, encoding: .utf8)
    let config = try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: environment)
        .load(path: "\(dir)/pb.yaml", target: nil, overrides: [])
    let runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs", cacheDirectory: "\(dir)/cache",
                                environment: environment)
    var options = RunOptions()
    options.json = true  // cell output to stderr: keep the test log readable
    options.recording = RecordingOptions(path: nil, cellbookVersion: "test", overrides: [])
    let summary = try await runner.run(options)
    return (summary, summary.recording ?? "")
}

func temporaryFolder(_ tag: String) -> String { NSTemporaryDirectory() + "cellbook-\(tag)-\(UUID().uuidString)" }

@Suite("Recorder")
struct RecorderTests {
    static let sentinel = "s3ntinel/ä+tok&en"

    @Test("a secret printed every way a shell cell can appears in no recording, masked where it was")
    func sentinelNeverRecorded() async throws {
        let dir = temporaryFolder("sentinel")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (summary, path) = try await recordRun("""
            name: leaky
            secrets:
              TOKEN:
                env: CBTEST_SENTINEL
            cells:
              - id: echo
                kind: shell
                markdown: Prints the token plainly, JSON-escaped, URL-encoded and on stderr.
                with:
                  command: |
                    echo "plain $T"
                    echo "to stderr $T" >&2
                    python3 -c 'import json, os, urllib.parse as u; t = os.environ["T"]; print(json.dumps(t)); print(json.dumps(t, ensure_ascii=False)); print(u.quote(t, safe="")); print(u.quote(t)); print(u.quote_plus(t))'
                    python3 -c 'import json, os; print(json.dumps({"token": os.environ["T"]}))'
                  env:
                    T: "{{ secrets.TOKEN }}"
                outputs: [token]
              - id: fails
                kind: shell
                with:
                  command: "echo \\"failing with {{ secrets.TOKEN }}\\" >&2; exit 3"
            """, environment: ["CBTEST_SENTINEL": Self.sentinel], in: dir)
        #expect(summary.exitCode == 1)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let forms = [Self.sentinel, "s3ntinel\\/", "s3ntinel%2F", "s3ntinel/\\u00e4", "s3ntinel/%C3%A4", "s3ntinel%2F%C3%A4"]
        for form in forms { #expect(!text.contains(form), "the recording holds the secret as \(form)") }
        let loaded = try Recording.load(path)
        for format in ExportFormat.allCases {
            let exported = format.render(loaded)
            for form in forms { #expect(!exported.contains(form), "the \(format) export holds the secret as \(form)") }
            #expect(exported.contains("[secret:TOKEN]"), "\(format)")
        }
        #expect(text.components(separatedBy: "[secret:TOKEN]").count > 8, "\(text)")
        let recording = try Recording.load(path)
        #expect(recording.cells.map(\.start.id) == ["echo", "fails"])
        #expect(recording.cell("echo")?.end?.outputs["token"] == "[secret:TOKEN]")
        #expect(recording.cell("echo")?.output.contains("to stderr [secret:TOKEN]") == true)
        #expect(recording.cell("fails")?.end?.status == "failed")
        #expect(recording.cell("fails")?.end?.error?.contains("[secret:TOKEN]") == true)
        #expect(recording.end?.exitCode == 1)
    }

    @Test("a recording holds the header, each cell's narrative, inputs, outputs, timings and timed prints")
    func recordingContents() async throws {
        let dir = temporaryFolder("contents")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (summary, path) = try await recordRun("""
            name: two
            params:
              n:
                type: int
                default: 2
            cells:
              - id: first
                kind: shell
                markdown: "## Counting"
                with:
                  command: "for i in $(seq {{ params.n }}); do echo line $i; sleep 0.05; done; echo '{\\"n\\": {{ params.n }}}'"
                outputs: [n]
              - id: second
                kind: shell
                with:
                  command: "echo got {{ cells.first.n }}"
            """, in: dir)
        #expect(summary.exitCode == 0)
        #expect(path.hasPrefix("\(dir)/outputs/two/default/recordings/"))
        let latest = try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/outputs/two/default/recordings/latest.jsonl")
        #expect(latest == (path as NSString).lastPathComponent)
        let r = try Recording.load(path)
        #expect(r.header.playbook.name == "two")
        #expect(r.header.playbook.sha256.count == 64)
        #expect(r.header.params["n"] == 2)
        #expect(r.header.cells == ["first", "second"])
        let first = try #require(r.cell("first"))
        #expect(first.start.markdown == "## Counting")
        #expect(first.start.inputs["command"]?.stringValue?.contains("seq 2") == true)
        #expect(first.end?.outputs["n"] == 2)
        #expect(first.end?.status == "ran")
        #expect((first.end?.durationS ?? 0) > 0.09)
        let lines = first.prints.filter { $0.text.contains("line ") }
        #expect(lines.count == 2)
        #expect(lines[1].t - lines[0].t > 0.04, "prints carry their own times")
        #expect(r.cell("second")?.output.contains("got 2") == true)
        // Text before the first cell (the run's header) is kept.
        #expect(r.events.prefix(3).contains { if case .print(let p) = $0 { p.text.contains("playbook ") } else { false } })
        // A second run: both cells cached, recorded as such.
        let (again, path2) = try await recordRun(try String(contentsOfFile: "\(dir)/pb.yaml", encoding: .utf8), in: dir)
        #expect(again.exitCode == 0)
        #expect(path2 != path)
        #expect(try Recording.load(path2).cells.map { $0.end?.status } == ["cached", "cached"])
    }

    @Test("an exchange tap keeps text whole across reads and times each piece from the request's start")
    func exchangeTap() throws {
        let dir = temporaryFolder("tap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let header = RecordingHeader(cellbookVersion: "t", playbook: .init(name: "p", title: "p", file: "p", sha256: "", source: nil),
                                     target: "t", targetSettings: [:], params: [:], overrides: [], startedAt: Date(), cells: [])
        let recorder = try Recorder(path: "\(dir)/r.jsonl", redactor: Redactor(secrets: ["K": "key-secret-1"]), header: header)
        let observer = ExchangeRecordingObserver(log: recorder.exchanges(cell: "chat"))
        let start = Recorder.now()
        let tap = observer.begin(.init(method: "POST", url: "http://127.0.0.1:9/v1/chat/completions?x=1", body: Array("{\"k\":\"key-secret-1\"}".utf8)), at: start)
        tap.head(status: 200, headers: ["content-type": "text/event-stream"])
        let bytes = Array("data: é\n\n".utf8)  // é is two bytes: split it between reads
        bytes[..<7].withUnsafeBytes { tap.body($0, receivedAt: start + 1_000_000) }
        bytes[7...].withUnsafeBytes { tap.body($0, receivedAt: start + 3_000_000) }
        tap.end(error: nil, at: start + 4_000_000)
        recorder.close()
        let x = try #require(try Recording.load("\(dir)/r.jsonl").exchanges.first)
        #expect(x.path == "/v1/chat/completions?x=1")
        #expect(x.requestBody == "{\"k\":\"[secret:K]\"}")
        #expect(x.chunks == [.init(dt: 0.001, text: "data: "), .init(dt: 0.003, text: "é\n\n")])
        #expect(x.status == 200)
        #expect(x.durationS == 0.004)
    }
}
