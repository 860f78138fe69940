import Foundation
import PlaybookModel
import Testing

@Suite("Parsing good playbooks")
struct PlaybookParserTests {
    @Test("shorthand params take their type from the default value")
    func shorthandParams() throws {
        let pb = try parseClean("""
            name: demo
            params:
              greeting: Hello
              repeat: 3
              ratio: 0.5
              verbose: true
              hosts: [a, b]
              quoted: "42"
            cells: []
            """)
        func param(_ name: String) throws -> ParamSpec { try #require(pb.param(name), "param \(name) missing") }
        #expect(try param("greeting").type == .string)
        #expect(try param("greeting").defaultValue == "Hello")
        #expect(try param("repeat").type == .int)
        #expect(try param("repeat").defaultValue == 3)
        #expect(try param("ratio").type == .number)
        #expect(try param("ratio").defaultValue == 0.5)
        #expect(try param("verbose").type == .bool)
        #expect(try param("hosts").type == .list)
        #expect(try param("hosts").defaultValue == ["a", "b"])
        // A quoted scalar is text even when it looks like a number.
        #expect(try param("quoted").type == .string)
        #expect(try param("quoted").defaultValue == "42")
        #expect(pb.params.map(\.name) == ["greeting", "repeat", "ratio", "verbose", "hosts", "quoted"])
    }

    @Test("full-form params keep their declared type, default and description")
    func fullParams() throws {
        let pb = try parseClean("""
            name: demo
            params:
              repeat:
                type: number
                default: 3
                description: How many lines.
              mode:
                type: string
                description: No default.
              labels:
                type: object
                default: {tier: web, zone: 2}
            cells: []
            """)
        let repeatParam = try #require(pb.param("repeat"))
        #expect(repeatParam.type == .number)
        #expect(repeatParam.defaultValue == 3)
        #expect(repeatParam.description == "How many lines.")
        let mode = try #require(pb.param("mode"))
        #expect(mode.type == .string)
        #expect(mode.defaultValue == nil)
        // An object default needs the full form: a mapping value is read as the param's fields.
        let labels = try #require(pb.param("labels"))
        #expect(labels.type == .object)
        #expect(labels.defaultValue == ["tier": "web", "zone": 2])
    }

    @Test("secrets: a list of names, bare keys, a description, or the full form")
    func secretForms() throws {
        let list = try parseClean("""
            name: demo
            secrets: [API_TOKEN, DB_PASSWORD]
            cells: []
            """)
        #expect(list.secrets.map(\.name) == ["API_TOKEN", "DB_PASSWORD"])
        #expect(list.secrets.map(\.env) == ["API_TOKEN", "DB_PASSWORD"])
        #expect(list.secrets.allSatisfy { $0.targets == nil && $0.applies(to: "anything") })

        let mapping = try parseClean("""
            name: demo
            secrets:
              BARE:
              DESCRIBED: The token for the demo API.
              FULL:
                env: DEMO_FULL_TOKEN
                description: Only in the cloud.
                targets: [cloud]
            targets:
              laptop:
              cloud:
            cells: []
            """)
        let bare = try #require(mapping.secret("BARE"))
        #expect(bare.env == "BARE" && bare.description == nil && bare.targets == nil)
        let described = try #require(mapping.secret("DESCRIBED"))
        #expect(described.description == "The token for the demo API.")
        let full = try #require(mapping.secret("FULL"))
        #expect(full.env == "DEMO_FULL_TOKEN")
        #expect(full.description == "Only in the cloud.")
        #expect(full.targets == ["cloud"])
        #expect(full.applies(to: "cloud"))
        #expect(!full.applies(to: "laptop"))
    }

    @Test("targets: a bare name or the full form with settings; the default target")
    func targetForms() throws {
        let pb = try parseClean("""
            name: demo
            default_target: cloud
            targets:
              laptop:
              cloud:
                description: A VM.
                settings:
                  region: eu-west-1
                  replicas: 2
            cells: []
            """)
        #expect(pb.targets.map(\.name) == ["laptop", "cloud"])
        let laptop = try #require(pb.target("laptop"))
        #expect(laptop.settings.isEmpty && laptop.description == nil)
        let cloud = try #require(pb.target("cloud"))
        #expect(cloud.description == "A VM.")
        #expect(cloud.settings == ["region": "eu-west-1", "replicas": 2])
        #expect(pb.defaultTargetName == "cloud")

        let noDefault = try parseClean("name: demo\ntargets:\n  first:\n  second:\ncells: []\n")
        #expect(noDefault.defaultTargetName == "first", "without default_target the first target listed is the default")
    }

    @Test("outputs: a list of names or a mapping of names to descriptions")
    func outputForms() throws {
        let pb = try parseClean("""
            name: demo
            cells:
              - id: listed
                kind: shell
                with:
                  command: echo hi
                outputs: [cores, kernel]
              - id: described
                kind: shell
                with:
                  command: echo hi
                outputs:
                  url: where the server listens
                  pid: its process id
            """)
        #expect(pb.cells.map(\.outputs) == [["cores", "kernel"], ["url", "pid"]])
    }

    @Test("cells keep their order, fields, inputs and input positions")
    func cellFields() throws {
        let pb = try parseClean("""
            name: demo
            title: A demo
            cells:
              - id: intro
                kind: note
                markdown: Hello.
              - id: run
                kind: shell
                title: Run it
                with:
                  command: echo hi
                  env:
                    TOKEN: abc
                  timeout: 5
            """)
        #expect(pb.title == "A demo")
        #expect(pb.cells.map(\.id) == ["intro", "run"])
        #expect(pb.cells[0].title == "intro", "a cell without a title is titled by its id")
        #expect(pb.cells[0].markdown == "Hello.")
        let run = pb.cells[1]
        #expect(run.title == "Run it")
        #expect(run.with == ["command": "echo hi", "env": ["TOKEN": "abc"], "timeout": 5])
        #expect(run.location.line == 7 && run.location.column == 9)
        #expect(run.kindLocation.line == 8 && run.kindLocation.column == 11)
        #expect(run.withLocations["env.TOKEN"]?.line == 13)
        #expect(run.withLocations["env.TOKEN"]?.column == 16)
    }

    @Test("the example playbook shell-basics parses and validates on both targets")
    func examplePlaybook() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("playbooks/shell-basics.yaml").path
        let validation = PlaybookValidation(kinds: testKinds, environment: ["DEMO_TOKEN": "token-value"])
        let laptop = try validation.load(path: path, target: nil, overrides: [])
        #expect(laptop.target.name == "laptop")
        #expect(laptop.playbook.cells.map(\.id) == ["intro", "machine", "greet", "count", "token", "report"])
        #expect(laptop.params == ["greeting": "Hello", "repeat": 3])
        #expect(laptop.secretValues.isEmpty, "DEMO_TOKEN does not apply to the laptop target")
        let withSecret = try validation.load(path: path, target: "with-secret", overrides: ["greeting=Hi", "repeat=5"])
        #expect(withSecret.secretValues == ["DEMO_TOKEN": "token-value"])
        #expect(withSecret.params == ["greeting": "Hi", "repeat": 5])
    }

    @Test("depends_on lists files (or one) and environment variables")
    func dependsOn() throws {
        let pb = try parseClean("""
            name: demo
            cells:
              - id: a
                kind: shell
                with:
                  command: cat input.txt
                depends_on:
                  files: input.txt
                  env: [LANG, MODE]
              - id: b
                kind: note
            """)
        #expect(pb.cells[0].dependsOn.files == ["input.txt"])
        #expect(pb.cells[0].dependsOn.env == ["LANG", "MODE"])
        #expect(pb.cells[0].dependsOn.location?.line == 8)
        #expect(pb.cells[1].dependsOn.isEmpty)
    }
}
