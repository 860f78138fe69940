import Foundation
import PlaybookModel
import Testing

/// The file name diagnostics carry for playbooks parsed from a string.
let testFile = "test.yaml"

/// The kinds these tests validate against: schemas of their own, shaped like cellbook's shell
/// and note kinds, so the model is tested without the cell kinds (and the libraries they need).
let testKinds: [String: KindSchema] = [
    "shell": KindSchema(
        name: "shell", summary: "Runs a command",
        inputs: [
            .init("command", .string, required: true, "the command, run with /bin/sh -c"),
            .init("env", .object, "extra environment variables"),
            .init("cwd", .string, "working directory"),
            .init("timeout", .number, positive: true, "seconds before the command is stopped"),
            .init("allow_failure", .bool, "publish a non-zero exit code instead of failing"),
        ],
        outputs: ["stdout", "stderr", "exit_code"], acceptsDeclaredOutputs: true),
    "note": KindSchema(name: "note", summary: "Narrative only", inputs: [], outputs: [], isNarrative: true),
]

/// Parses and validates `yaml` the way `cellbook run` does, returning every problem found.
func diagnose(_ yaml: String, target: String? = nil, set overrides: [String] = [],
              environment: [String: String] = [:]) -> [Diagnostic] {
    let (playbook, parseProblems) = PlaybookParser.parse(yaml, file: testFile)
    guard let playbook else { return parseProblems }
    let (_, problems) = PlaybookValidation(kinds: testKinds, environment: environment)
        .validate(playbook, target: target, overrides: overrides)
    return parseProblems + problems
}

/// Parses `yaml` that must be free of problems.
func parseClean(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Playbook {
    let (playbook, problems) = PlaybookParser.parse(yaml, file: testFile)
    #expect(problems.isEmpty, "unexpected problems: \(problems)", sourceLocation: sourceLocation)
    return try #require(playbook, sourceLocation: sourceLocation)
}

/// The one diagnostic whose message contains `text`, checked to sit at `line`:`column` of `file`.
@discardableResult
func expectProblem(_ diagnostics: [Diagnostic], _ text: String, line: Int, column: Int, file: String = testFile,
                   hint: String? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Diagnostic {
    let matches = diagnostics.filter { $0.message.contains(text) }
    #expect(matches.count == 1, "expected one problem containing \"\(text)\" among:\n\(diagnostics.map(\.description).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
    let d = try #require(matches.first, sourceLocation: sourceLocation)
    #expect(d.severity == .error, sourceLocation: sourceLocation)
    #expect(d.location.file == file, sourceLocation: sourceLocation)
    #expect(d.location.line == line && d.location.column == column,
            "\"\(text)\" reported at \(d.location.line):\(d.location.column), expected \(line):\(column)",
            sourceLocation: sourceLocation)
    if let hint {
        #expect(d.hint?.contains(hint) == true, "hint was \(d.hint ?? "nil"), expected it to contain \"\(hint)\"",
                sourceLocation: sourceLocation)
    }
    return d
}

/// A temporary folder removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("cellbook-model-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = "\(path)/\(name)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
