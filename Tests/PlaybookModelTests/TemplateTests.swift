import Foundation
import PlaybookModel
import Testing

@Suite("Template resolution")
struct TemplateTests {
    /// The values a run would see: params, a target setting, and one cell's outputs.
    static func lookup(_ ref: Reference) -> Value {
        let world: [String: Value] = [
            "params.repeat": 3,
            "params.ratio": 0.25,
            "params.verbose": true,
            "params.greeting": "Hello",
            "params.hosts": ["a", "b"],
            "params.labels": ["tier": "web", "zone": 2],
            "params.nothing": nil,
            "target.region": "eu-west-1",
            "cells.machine.cores": 8,
            "cells.machine.info.kernel": "Linux",
        ]
        return world[ref.description] ?? .string("<unknown \(ref)>")
    }

    static func resolve(_ text: String) throws -> Value {
        try TemplateString(parsing: text).resolve { Self.lookup($0) }
    }

    @Test("a lone reference keeps the referenced value's type", arguments: [
        ("{{ params.repeat }}", Value.int(3)),
        ("{{params.repeat}}", Value.int(3)),
        ("  {{ params.ratio }}", Value.string("  0.25")),
        ("{{ params.ratio }}", Value.double(0.25)),
        ("{{ params.verbose }}", Value.bool(true)),
        ("{{ params.hosts }}", Value.array(["a", "b"])),
        ("{{ params.labels }}", Value.object(["tier": "web", "zone": 2])),
        ("{{ params.nothing }}", Value.null),
        ("{{ cells.machine.cores }}", Value.int(8)),
    ])
    func loneReference(_ text: String, _ expected: Value) throws {
        #expect(try Self.resolve(text) == expected)
    }

    @Test("a reference inside text is interpolated as text; lists and objects as compact JSON", arguments: [
        ("repeat {{ params.repeat }} times", "repeat 3 times"),
        ("{{ params.greeting }}, {{ target.region }}!", "Hello, eu-west-1!"),
        ("ratio={{ params.ratio }} verbose={{ params.verbose }}", "ratio=0.25 verbose=true"),
        ("hosts={{ params.hosts }}", "hosts=[\"a\",\"b\"]"),
        ("labels={{ params.labels }}", "labels={\"tier\":\"web\",\"zone\":2}"),
        ("[{{ params.nothing }}]", "[]"),
        ("{{ cells.machine.cores }}-core", "8-core"),
        ("no templates at all", "no templates at all"),
    ])
    func mixedText(_ text: String, _ expected: String) throws {
        #expect(try Self.resolve(text) == .string(expected))
    }

    @Test("| quote makes a value one shell word, whatever it holds", arguments: [
        ("echo {{ params.greeting | quote }}", "echo 'Hello'"),
        ("echo {{params.greeting|quote}}", "echo 'Hello'"),
        ("{{ params.repeat | quote }}", "'3'"),
        ("echo {{ params.nothing | quote }}", "echo ''"),
        ("grep {{ params.tricky | quote }} f", #"grep 'it'\''s $HOME; rm -rf / `x` "y"' f"#),
    ])
    func shellQuote(_ text: String, _ expected: String) throws {
        let value = try TemplateString(parsing: text).resolve { ref in
            ref.description == "params.tricky" ? #"it's $HOME; rm -rf / `x` "y""# : Self.lookup(ref)
        }
        #expect(value == .string(expected))
    }

    @Test("a quoted value reaches a real shell intact")
    func shellQuoteRoundTrip() throws {
        let tricky = "it's $HOME; echo pwned `id` \"quoted\" \\ * \n end"
        let command = "printf '%s' " + TemplateString.shellQuoted(tricky)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self) == tricky)
    }

    @Test("references are parsed into namespace and path")
    func parsedReferences() throws {
        let t = try TemplateString(parsing: "{{ params.a }} and {{ cells.setup.info.kernel }} and {{ secrets.TOKEN }} {{ target.region }}")
        #expect(t.references == [
            Reference(namespace: .params, path: ["a"]),
            Reference(namespace: .cells, path: ["setup", "info", "kernel"]),
            Reference(namespace: .secrets, path: ["TOKEN"]),
            Reference(namespace: .target, path: ["region"]),
        ])
        #expect(t.references[1].cellID == "setup")
        #expect(t.references[0].cellID == nil)
    }

    @Test("templates resolve at any depth of a cell's inputs; other values pass through")
    func nestedValues() throws {
        let with: Value = [
            "command": "echo {{ params.greeting }}",
            "timeout": "{{ params.repeat }}",
            "env": ["REGION": "{{ target.region }}", "PLAIN": "x"],
            "args": ["{{ params.verbose }}", 7, "n={{ cells.machine.cores }}"],
            "retries": 2,
        ]
        let resolved = with.resolvingTemplates { Self.lookup($0) }
        #expect(resolved == [
            "command": "echo Hello",
            "timeout": 3,
            "env": ["REGION": "eu-west-1", "PLAIN": "x"],
            "args": [true, 7, "n=8"],
            "retries": 2,
        ])
        #expect(Set(with.templateReferences().map(\.description))
            == ["params.greeting", "params.repeat", "target.region", "params.verbose", "cells.machine.cores"])
    }

    @Test("malformed templates are rejected with a message", arguments: [
        ("{{ params. }}", "malformed reference 'params.'"),
        ("echo {{ params.greeting", "'{{' without a closing '}}'"),
        ("{{ }}", "empty reference"),
        ("{{ env.HOME }}", "unknown reference 'env.HOME'"),
        ("{{ cells.setup }}", "expected cells.CELL_ID.OUTPUT"),
        ("{{ params.a b }}", "malformed reference 'params.a b'"),
        ("{{ params.a | upper }}", "unknown filter 'upper' in '{{ params.a | upper }}': the one filter is '| quote'"),
    ])
    func malformed(_ text: String, _ message: String) {
        #expect {
            _ = try TemplateString(parsing: text)
        } throws: { error in
            (error as? TemplateSyntaxError)?.message.contains(message) == true
        }
    }
}
