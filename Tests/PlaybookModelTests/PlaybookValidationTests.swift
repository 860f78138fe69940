import Foundation
import PlaybookModel
import Testing

/// A playbook (plus run choices) with exactly one problem, and where that problem must be reported.
struct BadInput: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var target: String? = nil
    var set: [String] = []
    var environment: [String: String] = [:]
    var message: String
    var line: Int
    var column: Int
    var file: String = testFile
    var hint: String? = nil

    var testDescription: String { name }
}

extension BadInput {
    static let all: [BadInput] = [
        BadInput(name: "YAML syntax error", yaml: """
            name: demo
            cells:
              - id: a
               kind: shell
            """, message: "YAML syntax error: did not find expected '-' indicator", line: 4, column: 4,
            hint: "indentation"),
        BadInput(name: "empty file", yaml: "", message: "the playbook is empty", line: 1, column: 1),
        BadInput(name: "top level is not a mapping", yaml: "- id: a\n- id: b\n",
                 message: "the playbook must be a mapping (key: value), found a list", line: 1, column: 1),
        BadInput(name: "unknown top-level key", yaml: """
            name: demo
            titel: Demo
            cells: []
            """, message: "unknown key 'titel' in the playbook", line: 2, column: 1, hint: "did you mean 'title'?"),
        BadInput(name: "playbook name with a space", yaml: """
            name: my demo
            cells: []
            """, message: "name 'my demo' may hold only letters, digits, '-' and '_'", line: 1, column: 7),
        BadInput(name: "unknown cell key", yaml: """
            name: demo
            cells:
              - id: a
                kind: note
                colour: blue
            """, message: "unknown key 'colour' in a cell", line: 5, column: 5),
        BadInput(name: "cells is not a list", yaml: """
            name: demo
            cells:
              id: a
              kind: note
            """, message: "cells must be a list", line: 3, column: 3),
        BadInput(name: "cell without an id", yaml: """
            name: demo
            cells:
              - kind: note
                title: Nameless
            """, message: "a cell has no 'id'", line: 3, column: 5, hint: "add `id: some-name`"),
        BadInput(name: "cell without a kind", yaml: """
            name: demo
            cells:
              - id: a
                title: Kindless
            """, message: "cell 'a' has no 'kind'", line: 3, column: 5),
        BadInput(name: "unknown kind", yaml: """
            name: demo
            cells:
              - id: a
                kind: shel
                with:
                  command: echo hi
            """, message: "unknown kind 'shel' in cell 'a'", line: 4, column: 11, hint: "did you mean 'shell'?"),
        BadInput(name: "duplicate cell ids", yaml: """
            name: demo
            cells:
              - id: a
                kind: note
              - id: a
                kind: note
            """, message: "duplicate cell id 'a' (first used at line 3)", line: 5, column: 9),
        BadInput(name: "reference to an unknown param", yaml: """
            name: demo
            params:
              greeting: Hello
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ params.greting }}"
            """, message: "unknown param 'greting' in {{ params.greting }}", line: 8, column: 16,
            hint: "did you mean 'greeting'?"),
        BadInput(name: "reference to an unknown output of an earlier cell", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: echo hi
                outputs: [word]
              - id: b
                kind: shell
                with:
                  command: "echo {{ cells.a.wrd }}"
            """, message: "cell 'a' has no output 'wrd'", line: 11, column: 16, hint: "did you mean 'word'?"),
        BadInput(name: "reference to a cell that runs later", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ cells.b.stdout }}"
              - id: b
                kind: shell
                with:
                  command: echo hi
            """, message: "cell 'a' reads cell 'b', which runs later (cell 2 of 2)", line: 6, column: 16,
            hint: "only read outputs of cells above it"),
        BadInput(name: "reference to itself", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ cells.a.stdout }}"
            """, message: "cell 'a' reads itself", line: 6, column: 16),
        BadInput(name: "reference to an unknown cell", yaml: """
            name: demo
            cells:
              - id: setup
                kind: shell
                with:
                  command: echo hi
              - id: b
                kind: shell
                with:
                  env:
                    URL: "{{ cells.stup.stdout }}"
                  command: echo hi
            """, message: "unknown cell 'stup' in {{ cells.stup.stdout }}", line: 11, column: 14,
            hint: "did you mean 'setup'?"),
        BadInput(name: "malformed reference {{ params. }}", yaml: """
            name: demo
            params:
              greeting: Hello
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ params. }}"
            """, message: "malformed reference 'params.': expected params.NAME", line: 8, column: 16),
        BadInput(name: "cells reference without an output", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: echo hi
              - id: b
                kind: shell
                with:
                  command: "echo {{ cells.a }}"
            """, message: "malformed reference 'cells.a': expected cells.CELL_ID.OUTPUT", line: 10, column: 16),
        BadInput(name: "unclosed {{", yaml: """
            name: demo
            params:
              greeting: Hello
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ params.greeting"
            """, message: "'{{' without a closing '}}'", line: 8, column: 16),
        BadInput(name: "empty reference {{ }}", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ }}"
            """, message: "empty reference '{{ }}'", line: 6, column: 16),
        BadInput(name: "unknown namespace", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ env.HOME }}"
            """, message: "unknown reference 'env.HOME': a reference starts with params., target., secrets. or cells.",
            line: 6, column: 16),
        BadInput(name: "unknown setting of the target", yaml: """
            name: demo
            targets:
              cloud:
                settings:
                  region: eu-west-1
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ target.regoin }}"
            """, message: "target 'cloud' has no setting 'regoin'", line: 10, column: 16, hint: "did you mean 'region'?"),
        BadInput(name: "unknown secret", yaml: """
            name: demo
            secrets: [API_TOKEN]
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ secrets.API_TOKN }}"
            """, environment: ["API_TOKEN": "value"], message: "unknown secret 'API_TOKN'", line: 7, column: 16,
            hint: "did you mean 'API_TOKEN'?"),
        BadInput(name: "wrong input type: timeout is a number", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: sleep 1
                  timeout: "abc"
            """, message: "input 'timeout' of cell 'a' must be number, found string", line: 7, column: 16),
        BadInput(name: "wrong input type: allow_failure is a bool", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: "false"
                  allow_failure: 3
            """, message: "input 'allow_failure' of cell 'a' must be bool, found int", line: 7, column: 22),
        BadInput(name: "wrong input type: env is an object", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: env
                  env: [A, B]
            """, message: "input 'env' of cell 'a' must be object, found list", line: 7, column: 12),
        BadInput(name: "missing required input command", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  cwd: /tmp
            """, message: "cell 'a' (kind 'shell') needs input 'command'", line: 3, column: 9),
        BadInput(name: "unknown input key for shell", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: sleep 10
                  timout: 5
            """, message: "unknown input 'timout' for kind 'shell' in cell 'a'", line: 7, column: 15,
            hint: "did you mean 'timeout'?"),
        BadInput(name: "input for a kind that takes none", yaml: """
            name: demo
            cells:
              - id: a
                kind: note
                with:
                  command: echo hi
            """, message: "unknown input 'command' for kind 'note'", line: 6, column: 16, hint: "takes no inputs"),
        BadInput(name: "note cell declaring outputs", yaml: """
            name: demo
            cells:
              - id: a
                kind: note
                outputs: [x]
            """, message: "kind 'note' publishes fixed outputs; cell 'a' cannot declare its own", line: 3, column: 9),
        BadInput(name: "secret not set on a target where it applies", yaml: """
            name: demo
            secrets:
              API_TOKEN:
                env: DEMO_API_TOKEN
                targets: [cloud]
            targets:
              laptop:
              cloud:
            cells:
              - id: a
                kind: shell
                with:
                  command: echo hi
                  env:
                    TOKEN: "{{ secrets.API_TOKEN }}"
            """, target: "cloud",
            message: "secret 'API_TOKEN' is needed by cell 'a' but environment variable DEMO_API_TOKEN is not set",
            line: 15, column: 16, hint: "export DEMO_API_TOKEN="),
        BadInput(name: "secret too short to mask", yaml: """
            name: demo
            secrets:
              API_TOKEN:
                env: DEMO_API_TOKEN
            cells:
              - id: a
                kind: shell
                with:
                  command: echo hi
                  env:
                    TOKEN: "{{ secrets.API_TOKEN }}"
            """, environment: ["DEMO_API_TOKEN": "abc"],
            message: "secret 'API_TOKEN' (environment variable DEMO_API_TOKEN) is 3 characters long, too short to be masked in logs and outputs",
            line: 3, column: 3, hint: "set DEMO_API_TOKEN to the real credential (at least 4 characters)"),
        BadInput(name: "secret naming an unknown target", yaml: """
            name: demo
            secrets:
              API_TOKEN:
                targets: [clod]
            targets:
              cloud:
            cells: []
            """, environment: ["API_TOKEN": "value"],
            message: "secret 'API_TOKEN' names unknown target 'clod'", line: 3, column: 3, hint: "did you mean 'cloud'?"),
        BadInput(name: "param default of the wrong type", yaml: """
            name: demo
            params:
              repeat:
                type: int
                default: many
            cells: []
            """, message: "param 'repeat' is declared int but its default is string", line: 5, column: 14),
        BadInput(name: "param of an unknown type", yaml: """
            name: demo
            params:
              repeat:
                type: integer
                default: 3
            cells: []
            """, message: "unknown type 'integer' for param 'repeat'", line: 4, column: 11, hint: "use one of: string, int"),
        BadInput(name: "unknown --target", yaml: """
            name: demo
            targets:
              laptop:
              cloud:
            cells: []
            """, target: "clod", message: "unknown target 'clod'", line: 0, column: 0,
            file: "<command line: --target>", hint: "did you mean 'cloud'?"),
        BadInput(name: "--set of an unknown param", yaml: """
            name: demo
            params:
              greeting: Hello
            cells: []
            """, set: ["greting=Hi"], message: "unknown param 'greting'", line: 0, column: 0,
            file: "<command line: --set greting=Hi>", hint: "did you mean 'greeting'?"),
        BadInput(name: "--set of the wrong type", yaml: """
            name: demo
            params:
              repeat: 3
            cells: []
            """, set: ["repeat=many"], message: "param 'repeat' is int; 'many' is not", line: 0, column: 0,
            file: "<command line: --set repeat=many>", hint: "give an int value"),
        BadInput(name: "a timeout of 0", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: sleep 1
                  timeout: 0
            """, message: "input 'timeout' of cell 'a' must be more than 0, found 0", line: 7, column: 16),
        BadInput(name: "a negative timeout", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: sleep 1
                  timeout: -2.5
            """, message: "input 'timeout' of cell 'a' must be more than 0, found -2.5", line: 7, column: 16),
        BadInput(name: "depends_on with an unknown key", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: cat input.txt
                depends_on:
                  file: [input.txt]
            """, message: "unknown key 'file' in depends_on", line: 8, column: 7, hint: "did you mean 'files'?"),
        BadInput(name: "depends_on on a secret's variable", yaml: """
            name: demo
            secrets:
              TOKEN:
                env: DEMO_TOKEN
            cells:
              - id: a
                kind: shell
                with:
                  command: "true"
                depends_on:
                  env: [DEMO_TOKEN]
            """, environment: ["DEMO_TOKEN": "long-enough"],
            message: "cell 'a' depends on environment variable DEMO_TOKEN, which holds secret 'TOKEN'", line: 11, column: 7,
            hint: "never hashed into the cache"),
        BadInput(name: "depends_on.env that is not a variable name", yaml: """
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: "true"
                depends_on:
                  env: ["A=1"]
            """, message: "'A=1' is not an environment variable name (depends_on.env of cell 'a')", line: 8, column: 13),
        BadInput(name: "--set without =", yaml: """
            name: demo
            params:
              repeat: 3
            cells: []
            """, set: ["repeat"], message: "--set takes key=value", line: 0, column: 0, file: "<command line: --set repeat>"),
    ]
}

@Suite("Validating bad playbooks")
struct PlaybookValidationTests {
    @Test("each bad input is reported once, with its message, hint and exact position", arguments: BadInput.all)
    func badInput(_ input: BadInput) throws {
        let problems = diagnose(input.yaml, target: input.target, set: input.set, environment: input.environment)
        #expect(problems.count == 1, "expected exactly one problem, got:\n\(problems.map(\.description).joined(separator: "\n"))")
        try expectProblem(problems, input.message, line: input.line, column: input.column, file: input.file, hint: input.hint)
    }

    @Test("an unknown default_target is reported where default_target is written")
    func unknownDefaultTarget() throws {
        let problems = diagnose("""
            name: demo
            targets:
              laptop:
              cloud:
            default_target: clod
            cells: []
            """)
        #expect(problems.count == 1)
        try expectProblem(problems, "default_target 'clod' is not one of the targets", line: 5, column: 17,
                          hint: "did you mean 'cloud'?")
    }

    @Test("a hint never offers an empty list of names when there is nothing to choose from")
    func hintWithoutCandidates() throws {
        let problems = diagnose("""
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ params.greeting }}"
            """, set: ["greeting=Hi"])
        #expect(problems.count == 2)
        let reference = try expectProblem(problems, "unknown param 'greeting' in {{ params.greeting }}", line: 6, column: 16)
        let set = try #require(problems.first { $0.location.file == "<command line: --set greeting=Hi>" })
        #expect(set.message == "unknown param 'greeting'")
        for hint in [reference.hint, set.hint] {
            #expect(hint?.hasSuffix("expected one of: ") != true, "the hint reads \"\(hint ?? "")\" for a playbook without params")
        }
    }

    @Test("a secret is not required on a target where it does not apply, nor when it is set")
    func secretOnlyWhereItApplies() {
        let yaml = """
            name: demo
            secrets:
              API_TOKEN:
                env: DEMO_API_TOKEN
                targets: [cloud]
            targets:
              laptop:
              cloud:
            cells:
              - id: a
                kind: shell
                with:
                  command: echo hi
                  env:
                    TOKEN: "{{ secrets.API_TOKEN }}"
            """
        #expect(diagnose(yaml, target: "laptop").isEmpty, "laptop does not use API_TOKEN")
        #expect(diagnose(yaml).isEmpty, "the default target (laptop, the first) does not use API_TOKEN")
        #expect(diagnose(yaml, target: "cloud", environment: ["DEMO_API_TOKEN": "s3cr3t-value"]).isEmpty)
        let empty = diagnose(yaml, target: "cloud", environment: ["DEMO_API_TOKEN": ""])
        #expect(empty.count == 1, "an empty variable is no value")
        #expect(empty.first?.message.hasSuffix("environment variable DEMO_API_TOKEN is empty") == true, "\(empty)")
    }

    @Test("commands that only read state do not require secrets")
    func secretsNotRequiredForReading() {
        let (pb, parseProblems) = PlaybookParser.parse("""
            name: demo
            secrets: [API_TOKEN]
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo {{ secrets.API_TOKEN }}"
            """, file: testFile)
        #expect(parseProblems.isEmpty)
        guard let pb else { Issue.record("no playbook"); return }
        let (_, problems) = PlaybookValidation(kinds: testKinds, environment: [:], requireSecrets: false)
            .validate(pb, target: nil, overrides: [])
        #expect(problems.isEmpty)
    }

    @Test("--set converts values to the param's type")
    func setConvertsTypes() throws {
        let (pb, parseProblems) = PlaybookParser.parse("""
            name: demo
            params:
              repeat: 3
              ratio: 0.5
              verbose: false
              hosts: [a]
              greeting: Hello
            cells: []
            """, file: testFile)
        #expect(parseProblems.isEmpty)
        let playbook = try #require(pb)
        let (config, problems) = PlaybookValidation(kinds: testKinds, environment: [:])
            .validate(playbook, target: nil, overrides: ["repeat=5", "ratio=2", "verbose=yes", "hosts=[\"x\",\"y\"]", "greeting=a=b"])
        #expect(problems.isEmpty, "\(problems)")
        #expect(config?.params == ["repeat": 5, "ratio": 2, "verbose": true, "hosts": ["x", "y"], "greeting": "a=b"])
    }

    @Test("every problem is reported at once, each with file, line and column")
    func allProblemsAtOnce() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("many-problems.yaml", """
            name: demo
            colour: red
            params:
              repeat:
                type: int
                default: many
            cells:
              - id: first
                kind: shel
                with:
                  command: echo hi
              - id: second
                kind: shell
                with:
                  command: "echo {{ params.repeet }} {{ cells.third.stdout }}"
                  timeout: "abc"
              - id: second
                kind: note
              - id: third
                kind: shell
                with:
                  cwd: /tmp
            """)
        let validation = PlaybookValidation(kinds: testKinds, environment: [:])
        var thrown: PlaybookError?
        do {
            _ = try validation.load(path: path, target: nil, overrides: ["colour=blue"])
        } catch {
            thrown = error
        }
        let error = try #require(thrown, "an invalid playbook must not load")
        let problems = error.diagnostics
        try expectProblem(problems, "unknown key 'colour' in the playbook", line: 2, column: 1, file: path)
        try expectProblem(problems, "param 'repeat' is declared int but its default is string", line: 6, column: 14, file: path)
        try expectProblem(problems, "unknown kind 'shel' in cell 'first'", line: 9, column: 11, file: path)
        try expectProblem(problems, "unknown param 'repeet'", line: 15, column: 16, file: path)
        try expectProblem(problems, "cell 'second' reads cell 'third', which runs later", line: 15, column: 16, file: path)
        try expectProblem(problems, "input 'timeout' of cell 'second' must be number", line: 16, column: 16, file: path)
        try expectProblem(problems, "duplicate cell id 'second' (first used at line 12)", line: 17, column: 9, file: path)
        try expectProblem(problems, "cell 'third' (kind 'shell') needs input 'command'", line: 19, column: 9, file: path)
        try expectProblem(problems, "unknown param 'colour'", line: 0, column: 0, file: "<command line: --set colour=blue>")
        #expect(problems.count == 9, "\(problems.map(\.description).joined(separator: "\n"))")
        #expect(error.description.hasSuffix("9 problems found; nothing was run or written."))
        #expect(error.description.contains("\(path):15:16: error: in cell 'second': unknown param 'repeet'"))
    }

    @Test("a missing playbook file is one problem naming the path")
    func missingFile() throws {
        do {
            _ = try PlaybookValidation(kinds: testKinds, environment: [:])
                .load(path: "/nonexistent/cellbook/nope.yaml", target: nil, overrides: [])
            Issue.record("loading a missing file must fail")
        } catch {
            let diagnostics = error.diagnostics
            #expect(diagnostics.count == 1)
            #expect(diagnostics.first?.message == "cannot read playbook file '/nonexistent/cellbook/nope.yaml'")
        }
    }
}

@Suite("Names that become folders")
struct FolderNameTests {
    @Test("a target name that climbs out of outputs/ is an error where it is written")
    func targetNameWithPath() throws {
        let problems = diagnose("""
            name: demo
            targets:
              ../../../victim:
                settings: {}
            cells: []
            """)
        #expect(problems.count == 1, "\(problems)")
        try expectProblem(problems, "target name '../../../victim' may hold only letters, digits, '-' and '_'", line: 3, column: 3,
                          hint: "becomes a folder")
    }

    @Test("ids and names longer than 100 bytes of UTF-8 are errors (they could not name a folder)")
    func overLongNames() throws {
        let long = String(repeating: "a", count: 101)
        let wide = String(repeating: "é", count: 51)  // 51 letters, 102 bytes
        let problems = diagnose("""
            name: \(long)
            targets:
              \(wide):
            cells:
              - id: \(long)
                kind: note
              - id: \(String(repeating: "b", count: 100))
                kind: note
            """)
        #expect(problems.count == 3, "\(problems)")
        try expectProblem(problems, "name '\(long.prefix(20))…' is 101 bytes long; at most 100 are allowed", line: 1, column: 7)
        try expectProblem(problems, "target name '\(wide.prefix(20))…' is 102 bytes long", line: 3, column: 3)
        try expectProblem(problems, "cell id '\(long.prefix(20))…' is 101 bytes long", line: 5, column: 9)
    }
}
