@testable import CellbookKinds
import CellbookEngine
import CellbookRecording
import Foundation
import PlaybookModel
import Testing

/// Re-runs `pb.yaml` in `dir` as `cellbook check` does (nothing cached or kept) and compares.
func checkRun(_ recording: String, in dir: String, overrides: [String] = []) async throws -> [RecordingCheck.CellVerdict] {
    let r = try Recording.load(recording)
    let config = try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: [:])
        .load(path: "\(dir)/pb.yaml", target: nil, overrides: r.header.overrides + overrides)
    let runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs", cacheDirectory: "\(dir)/cache", environment: [:])
    var o = RunOptions()
    o.noCache = true
    o.json = true
    return RecordingCheck(recording: r, playbook: config.playbook).compare(try await runner.run(o))
}

@Suite("Check")
struct CheckTests {
    static let playbook = """
        name: checked
        params:
          n:
            type: int
            default: 2
        cells:
          - id: count
            kind: shell
            with:
              command: "echo '{\\"n\\": {{ params.n }}, \\"took\\": '$$'}'"
            outputs: [n, took]
            check:
              took: shape
              stdout: shape
          - id: answer
            kind: shell
            with:
              command: "python3 -c 'import json; print(json.dumps({\\"answer\\": open(\\"{{ params.dir }}/answer.txt\\").read().strip()}))'"
            outputs: [answer]
          - id: ratio
            kind: shell
            with:
              command: "echo '{\\"r\\": 1.0'$(($$ % 5))'}'"
            outputs: [r]
            check:
              r: {rel: 0.1}
              stdout: shape
        """

    static func setUp(_ tag: String) async throws -> (dir: String, recording: String) {
        let dir = temporaryFolder(tag)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "42\n".write(toFile: "\(dir)/answer.txt", atomically: true, encoding: .utf8)
        let yaml = playbook.replacingOccurrences(of: "cells:", with: "  dir:\n    type: string\n    default: \(dir)\ncells:")
        let (summary, path) = try await recordRun(yaml, in: dir)
        #expect(summary.exitCode == 0, "\(summary.cells)")
        return (dir, path)
    }

    @Test("a recording checked against a new run of the same playbook passes, rules absorbing what varies")
    func selfCheckPasses() async throws {
        let (dir, recording) = try await Self.setUp("check-self")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verdicts = try await checkRun(recording, in: dir)
        #expect(verdicts.map(\.id) == ["count", "answer", "ratio"])
        #expect(verdicts.filter { !$0.matches }.isEmpty, "\(verdicts.flatMap(\.drifts))")
    }

    @Test("a changed param fails the cell that reads it, and only that cell")
    func changedParam() async throws {
        let (dir, recording) = try await Self.setUp("check-param")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let verdicts = try await checkRun(recording, in: dir, overrides: ["n=3"])
        #expect(verdicts.filter { !$0.matches }.map(\.id) == ["count"])
        let drift = try #require(verdicts.first?.drifts.first)
        #expect(drift.output == "n" && drift.recorded == 2 && drift.now == 3)
        #expect(RecordingCheck.report(verdicts, recordingPath: recording).contains("✗ count: 1 difference"))
    }

    @Test("a changed answer fails its cell with both values shown")
    func changedAnswer() async throws {
        let (dir, recording) = try await Self.setUp("check-answer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "41\n".write(toFile: "\(dir)/answer.txt", atomically: true, encoding: .utf8)
        let verdicts = try await checkRun(recording, in: dir)
        #expect(verdicts.filter { !$0.matches }.map(\.id) == ["answer"])
        let report = RecordingCheck.report(verdicts, recordingPath: recording)
        #expect(report.contains("answer (exact): differs"), "\(report)")
        #expect(report.contains("recorded: \"42\"") && report.contains("now:      \"41\""), "\(report)")
        #expect(report.contains("Drift in 1 of 3 cells: 'answer'"))
    }

    @Test("an output the recording has and the run does not publish fails its cell")
    func missingOutput() async throws {
        let (dir, recording) = try await Self.setUp("check-missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The recording says 'ratio' also published `unit`.
        let text = try String(contentsOfFile: recording, encoding: .utf8)
        let edited = text.split(separator: "\n").map { line -> String in
            line.contains("\"type\":\"cell_end\"") && line.contains("\"id\":\"ratio\"")
                ? line.replacingOccurrences(of: "\"outputs\":{", with: "\"outputs\":{\"unit\":\"x\",") : String(line)
        }.joined(separator: "\n") + "\n"
        try edited.write(toFile: recording, atomically: true, encoding: .utf8)
        let verdicts = try await checkRun(recording, in: dir)
        #expect(verdicts.filter { !$0.matches }.map(\.id) == ["ratio"])
        #expect(verdicts.last?.drifts.first?.output == "unit")
        #expect(verdicts.last?.drifts.first?.why == "missing now")
    }

    @Test("rules: tolerance, shape and exact on values")
    func rules() {
        let check = CellCheck(rules: ["x": .tolerance(rel: 0.1, abs: nil), "s": .shape, "*": .exact])
        #expect(OutputComparison.compare(cell: "c", recorded: ["x": 10.0, "s": "a", "k": 1], now: ["x": 10.9, "s": "bb", "k": 1.0], check: check).isEmpty)
        let drifts = OutputComparison.compare(cell: "c", recorded: ["x": 10.0, "s": "a", "k": 1], now: ["x": 11.5, "s": 3, "k": 2], check: check)
        #expect(drifts.map(\.output) == ["k", "s", "x"])
        #expect(OutputComparison.compare(cell: "c", recorded: ["o": ["a": 1]], now: ["o": ["b": 1]], check: CellCheck(rules: ["o": .shape]))
            .first?.why == "o lost key a")
    }

    @Test("check rules are parsed and validated with the output names the cell publishes")
    func parsing() throws {
        let dir = temporaryFolder("check-parse")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            name: p
            cells:
              - id: a
                kind: shell
                with: {command: "echo '{}'"}
                outputs: [x]
                check:
                  x: {rel: 0.2, abs: 1}
                  y: shape
                  "*": sloppy
            """.write(toFile: "\(dir)/p.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try PlaybookValidation(kinds: cellKindSchemas, environment: [:]).load(path: "\(dir)/p.yaml", target: nil, overrides: [])
            Issue.record("a bad check was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("unknown check rule 'sloppy'"), "\(text)")
            #expect(text.contains("check names output 'y', which cell 'a' does not publish"), "\(text)")
            #expect(text.contains("p.yaml:9:"), "\(text)")
        }
    }
}
