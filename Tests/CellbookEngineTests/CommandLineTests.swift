import Foundation
import PlaybookModel
import SystemKit
import Testing

@Suite("Command-line conventions")
struct CommandLineTests {
    @Test("--help and --version print to stdout (so `cellbook --help | less` shows them) and exit 0",
          arguments: [["--help"], ["--version"], ["run", "--help"], ["validate", "--help"]])
    func helpOnStdout(_ args: [String]) async throws {
        let box = try Sandbox()
        let result = try await box.cellbook(args, withOutputs: false)
        #expect(result.code == 0, "\(result)")
        #expect(!result.stdout.isEmpty, "nothing on stdout: \(result)")
        #expect(result.stderr.isEmpty, "\(result)")
        if args == ["--version"] { #expect(result.stdout.contains("0.1.0")) } else { #expect(result.stdout.contains("USAGE")) }
    }

    @Test("with --format json, an input error is a JSON object on stdout for every command",
          arguments: [["run"], ["list"], ["state"], ["show", "a"], ["reset"], ["validate"]])
    func inputErrorsAsJSON(_ command: [String]) async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: broken
            colour: red
            cells:
              - id: a
                kind: note
            """)
        let result = try await box.cellbook([command[0], pb] + command.dropFirst() + ["--format", "json"])
        #expect(result.code == 2, "\(result)")
        let report = try result.json()
        let problems = try #require(report["problems"]?.arrayValue, "\(result.stdout)")
        #expect(problems.first?["message"] == "unknown key 'colour' in the playbook")
        #expect(problems.first?["location"]?["line"] == 2)
        if command[0] != "validate" {  // validate's JSON report is its whole answer
            #expect(result.stderr.contains("unknown key 'colour'"), "the text still goes to stderr")
        }
    }

    @Test("with --format json, usage and state errors are JSON on stdout too")
    func otherErrorsAsJSON() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let unknownCell = try await box.cellbook("run", pb, "--only", "nope", "--format", "json")
        #expect(unknownCell.code == 2)
        #expect(try unknownCell.json()["error"]?.stringValue?.hasPrefix("--only nope: no such cell") == true, "\(unknownCell)")
        #expect(try unknownCell.json()["exit_code"] == 2)
        let badFlag = try await box.cellbook("list", pb, "--colour", "--format", "json")
        #expect(badFlag.code == 2)
        #expect(try badFlag.json()["error"]?.stringValue?.contains("--colour") == true, "\(badFlag)")
    }

    @Test("validate counts cells in words: 1 cell, 2 cells")
    func cellCountWording() async throws {
        let box = try Sandbox()
        let one = try box.playbook("name: one\ncells:\n  - id: a\n    kind: note\n")
        let result = try await box.cellbook("validate", one)
        #expect(result.stdout.contains("valid (1 cell, target default)"), "\(result)")
    }

    @Test("colour only on a terminal that understands it: not with TERM=dumb or NO_COLOR")
    func colourRules() {
        #expect(Format.shouldColor(terminal: true, environment: ["TERM": "xterm-256color"]))
        #expect(!Format.shouldColor(terminal: true, environment: ["TERM": "dumb"]))
        #expect(!Format.shouldColor(terminal: true, environment: ["TERM": "xterm", "NO_COLOR": "1"]))
        #expect(!Format.shouldColor(terminal: false, environment: ["TERM": "xterm"]))
    }

    @Test("tables keep columns aligned: an empty or right-aligned first cell keeps its place")
    func tableAlignment() {
        let text = Format.table([["#", "cell"], ["9", "a"], ["10", "b"]], alignRight: [0])
        #expect(text == " #  cell\n--  ----\n 9  a\n10  b")
        let marked = Format.table([["", "name"], ["*", "x"], ["", "y"]])
        #expect(marked.split(separator: "\n").last == "   y", "\(marked)")
    }
}
