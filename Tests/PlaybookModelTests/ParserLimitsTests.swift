import Foundation
import PlaybookModel
import Testing

@Suite("Hostile and broken playbook files")
struct ParserLimitsTests {
    @Test("thousands of problems: the first 100 are listed and the rest counted", .timeLimit(.minutes(1)))
    func problemCap() throws {
        let dir = try TemporaryDirectory()
        let keys = (0..<5000).map { "    unknown_\($0): 1" }.joined(separator: "\n")
        let path = try dir.write("noisy.yaml", "name: demo\ncells:\n  - id: a\n    kind: note\n\(keys)\n")
        var thrown: PlaybookError?
        do {
            _ = try PlaybookValidation(kinds: testKinds, environment: [:]).load(path: path, target: nil, overrides: [])
        } catch {
            thrown = error
        }
        let error = try #require(thrown)
        #expect(error.diagnostics.count == 100)
        #expect(error.omitted == 4900)
        #expect(error.diagnostics.first?.message == "unknown key 'unknown_0' in a cell")
        #expect(error.description.contains("... and 4900 more problems not listed (the first 100 are shown)"), "\(error.description.suffix(300))")
        #expect(error.description.hasSuffix("5000 problems found; nothing was run or written."))
    }

    @Test("nested aliases that would expand to 10^9 values stop with a clear error", .timeLimit(.minutes(1)))
    func aliasBomb() throws {
        var yaml = "name: demo\nparams:\n  bomb:\n    default:\n      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            let refs = Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
            yaml += "      l\(level): &l\(level) [\(refs)]\n"
        }
        yaml += "cells: []\n"
        let (_, problems) = PlaybookParser.parse(yaml, file: testFile)
        #expect(problems.count == 1, "\(problems)")
        let problem = try #require(problems.first)
        #expect(problem.message.hasPrefix("YAML aliases expand the playbook to more than 100000 values"), "\(problem)")
        #expect(problem.hint?.contains("nest fewer aliases") == true)
    }

    @Test("ordinary aliases still expand")
    func ordinaryAliases() throws {
        let pb = try parseClean("""
            name: demo
            params:
              base:
                default: &base {region: eu-west-1, size: 2}
              copy:
                default: *base
            cells: []
            """)
        #expect(pb.param("copy")?.defaultValue == ["region": "eu-west-1", "size": 2])
    }

    @Test("a file that is not UTF-8 is reported at its first bad byte")
    func notUTF8() throws {
        let dir = try TemporaryDirectory()
        let path = "\(dir.path)/latin1.yaml"
        var bytes = Data("name: demo\ncells:\n  - id: café\n".utf8)
        bytes.append(contentsOf: Array("    title: caf".utf8) + [0xE9, 0x0A])
        try bytes.write(to: URL(fileURLWithPath: path))
        let (_, problems) = PlaybookParser.load(path: path)
        #expect(problems.count == 1, "\(problems)")
        try expectProblem(problems, "the file is not UTF-8 text: byte 0xE9 at offset 46 is not valid UTF-8", line: 4, column: 15, file: path)
    }

    @Test("a tab in indentation is called a tab", arguments: [
        "name: demo\ncells:\n\t- id: a\n",
        "name: demo\ncells:\n  - id: a\n\tkind: note\n",
    ])
    func tabIndentation(yaml: String) throws {
        let (_, problems) = PlaybookParser.parse(yaml, file: testFile)
        #expect(problems.count == 1)
        #expect(problems.first?.message == "YAML syntax error: a tab character in indentation", "\(problems)")
        #expect(problems.first?.hint?.contains("spaces") == true)
    }
}
