@testable import CellbookKinds
import CellbookEngine
import Foundation
import PlaybookModel
import Testing

/// Runs a playbook of these cells (and params) in process; returns the run, its state and its
/// folder, which is removed unless `keep` (then the caller removes it).
private func runShell(_ cells: String, params: String = "", keep: Bool = false) async throws -> (RunSummary, SessionState, String) {
    let dir = NSTemporaryDirectory() + "cellbook-shell-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { if !keep { try? FileManager.default.removeItem(atPath: dir) } }
    try "name: sh\n\(params)cells:\n\(cells)".write(toFile: "\(dir)/sh.yaml", atomically: true, encoding: .utf8)
    let config = try PlaybookValidation(kinds: cellKindSchemas, environment: [:]).load(path: "\(dir)/sh.yaml", target: nil, overrides: [])
    let runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs", cacheDirectory: "\(dir)/cache", environment: [:])
    var options = RunOptions()
    options.json = true  // cell output to stderr, the summary to stdout: keep the test log readable
    let summary = try await runner.run(options)
    return (summary, try runner.store.load(playbook: "sh", target: "default"), dir)
}

@Suite("Shell cells")
struct ShellCellTests {
    @Test("a time-out failure says what the limit was")
    func timeoutNamesLimit() async throws {
        let (summary, _, _) = try await runShell("""
              - id: slow
                kind: shell
                with:
                  command: sleep 5
                  timeout: 0.3
            """)
        #expect(summary.exitCode == 1)
        let error = summary.cells.first?.error ?? ""
        #expect(error.contains("command failed (timed out after 300 ms (the cell's timeout: 0.3 s)): sleep 5"), "\(error)")
    }

    @Test("a timeout of 0 that comes from a template is refused when the cell runs")
    func zeroTimeoutAtRunTime() async throws {
        let (summary, _, _) = try await runShell("""
              - id: zero
                kind: shell
                with:
                  command: echo ran
                  timeout: "{{ params.t }}"
            """, params: "params:\n  t: 0\n")
        #expect(summary.exitCode == 1)
        #expect(summary.cells.first?.error == "input 'timeout' of cell 'zero' must be more than 0 seconds, found 0")
    }

    @Test("malformed JSON on the last line is reported as malformed, with the line and where in it")
    func malformedJSON() async throws {
        let (summary, _, _) = try await runShell("""
              - id: bad
                kind: shell
                with:
                  command: |
                    echo starting
                    echo '{"answer": 42, "unit": tokens}'
                outputs: [answer]
            """)
        #expect(summary.exitCode == 1)
        let error = summary.cells.first?.error ?? ""
        #expect(error.contains("but the JSON its command printed on line 2 of stdout is malformed: "), "\(error)")
        #expect(!error.contains("printed no JSON object"))
        #expect(error.contains(#"that line: {"answer": 42, "unit": tokens}"#), "\(error)")
        // Where in the line, in the parser's words ("around character 24" here, "around line 1, column 24" on macOS).
        let problem = ShellCell.jsonProblem(#"{"answer": 42, "unit": tokens}"#)
        #expect(problem.hasPrefix("invalid value around ") && problem.contains("24"), "\(problem)")
    }

    @Test("a command that prints no JSON at all still says so")
    func noJSON() async throws {
        let (summary, _, _) = try await runShell("""
              - id: none
                kind: shell
                with:
                  command: echo plain text
                outputs: [answer]
            """)
        #expect(summary.cells.first?.error?.contains("but its command printed no JSON object") == true)
    }

    @Test("large output: state.json keeps a bounded tail, the log keeps everything, declared outputs still parse")
    func largeOutputTail() async throws {
        let (summary, state, dir) = try await runShell("""
              - id: big
                kind: shell
                with:
                  command: |
                    i=0; while [ $i -lt 30000 ]; do echo "line $i of filler text"; i=$((i+1)); done
                    echo '{"lines": 30000}'
                outputs: [lines]
            """, keep: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(summary.exitCode == 0)
        let stdout = state.cells["big"]?.outputs["stdout"]?.stringValue ?? ""
        #expect(stdout.utf8.count < ShellCell.keptOutputBytes + 200, "\(stdout.utf8.count) bytes kept")
        #expect(stdout.hasPrefix("[… "), "\(stdout.prefix(200))")
        #expect(stdout.contains("bytes before this are not kept in state; the cell's log.txt has the whole output]\nline "))
        #expect(stdout.hasSuffix("line 29999 of filler text\n{\"lines\": 30000}"))
        #expect(state.cells["big"]?.outputs["lines"] == 30000)
        let stateBytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/outputs/sh/default/state.json")).count
        #expect(stateBytes < 200_000, "state.json is \(stateBytes) bytes")
        let log = try String(contentsOfFile: "\(dir)/outputs/sh/default/cells/big/log.txt", encoding: .utf8)
        #expect(log.hasPrefix("line 0 of filler text\n") && log.contains("line 29999 of filler text"))
    }

    @Test("{{ ... | quote }} passes a value with quotes, $ and ; to the command as one word")
    func quotedTemplate() async throws {
        let (summary, state, _) = try await runShell("""
              - id: say
                kind: shell
                with:
                  command: "printf '%s' {{ params.message | quote }}"
            """, params: "params:\n  message: \"it's $HOME; echo injected\"\n")
        #expect(summary.exitCode == 0)
        #expect(state.cells["say"]?.outputs["stdout"] == "it's $HOME; echo injected")
    }

    @Test("the tail cuts at a character boundary and, when near, at a line start")
    func tailBoundaries() {
        let small = "short"
        #expect(ShellCell.tail(small) == small)
        let text = String(repeating: "é", count: ShellCell.keptOutputBytes)  // 2 bytes each
        let kept = ShellCell.tail(text)
        #expect(kept.hasSuffix("é") && kept.utf8.count <= ShellCell.keptOutputBytes + 200)
        #expect(kept.contains("]\né"), "no broken character after the note")
    }
}
