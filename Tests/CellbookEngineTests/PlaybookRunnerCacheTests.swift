@testable import CellbookEngine
import CellbookKinds
import Foundation
import PlaybookModel
import Testing

@Suite("Per-cell cache")
struct PlaybookRunnerCacheTests {
    @Test("a second run executes nothing: every cell comes from cache and replays its log")
    func cacheHit() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let first = try await box.cellbook("run", pb, "--format", "json")
        #expect(first.code == 0, "\(first)")
        #expect(try first.statuses() == flowCells.map { "\($0):ran" })
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 1, 1])

        let second = try await box.cellbook("run", pb, "--format", "json")
        #expect(second.code == 0, "\(second)")
        #expect(try second.statuses() == flowCells.map { "\($0):cached" })
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 1, 1], "a cached run must not execute any command")
        let report = try #require(try second.json()["cells"]?.arrayValue?.last)
        #expect(report["outputs"]?["stdout"] == "HELLO WORLD x2", "cached outputs are served as they were")

        let text = try await box.cellbook("run", pb)
        #expect(text.code == 0)
        #expect(text.stdout.contains("cached"))
        #expect(text.stdout.contains("HELLO WORLD x2"), "a cached cell replays its log:\n\(text.stdout)")
        #expect(text.stdout.contains("6 cells · 0 ran · 6 cached · 0 failed"))
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 1, 1])
    }

    @Test("editing a cell's command re-runs that cell, and only the cells that read a changed value")
    func cacheMissOnEdit() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        #expect(try await box.cellbook("run", pb).code == 0)

        // count now publishes 3 lines instead of 2: tally and report read it, the others do not.
        try box.playbook(flowPlaybook.replacingOccurrences(of: "echo '{\"lines\": {{ params.repeat }}}'",
                                                           with: "echo '{\"lines\": {{ params.repeat }}}' | sed s/2/3/"))
        let edited = try await box.cellbook("run", pb, "--format", "json")
        #expect(edited.code == 0, "\(edited)")
        #expect(try edited.statuses() == ["greet:cached", "count:ran", "shout:cached", "words:cached", "tally:ran", "report:ran"])
        #expect(box.runs(flowCells) == [1, 2, 1, 1, 2, 2])

        // A comment-only edit to the same cell changes its command text too: it re-runs,
        // but publishes the same value, so nothing downstream runs again.
        try box.playbook(flowPlaybook.replacingOccurrences(of: "echo '{\"lines\": {{ params.repeat }}}'",
                                                           with: "echo '{\"lines\": {{ params.repeat }}}' | sed s/2/3/ # same"))
        let comment = try await box.cellbook("run", pb, "--format", "json")
        #expect(try comment.statuses() == ["greet:cached", "count:ran", "shout:cached", "words:cached", "tally:cached", "report:cached"])
        #expect(box.runs(flowCells) == [1, 3, 1, 1, 2, 2])
    }

    @Test("--set re-runs exactly the cells that read the param and those downstream that read changed values")
    func invalidationCascade() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        #expect(try await box.cellbook("run", pb).code == 0)

        // greeting: greet re-runs; shout and words read its new message; words still counts two
        // words, so tally (which reads only words and count) stays cached; count never reads it.
        let hi = try await box.cellbook("run", pb, "--set", "greeting=Hi", "--format", "json")
        #expect(hi.code == 0, "\(hi)")
        #expect(try hi.statuses() == ["greet:ran", "count:cached", "shout:ran", "words:ran", "tally:cached", "report:ran"])
        #expect(box.runs(flowCells) == [2, 1, 2, 2, 1, 2])
        let report = try #require(try hi.json()["cells"]?.arrayValue?.last)
        #expect(report["outputs"]?["stdout"] == "HI WORLD x2")

        let again = try await box.cellbook("run", pb, "--set", "greeting=Hi", "--format", "json")
        #expect(try again.statuses() == flowCells.map { "\($0):cached" }, "the same --set again is a cache hit")
        #expect(box.runs(flowCells) == [2, 1, 2, 2, 1, 2])

        // repeat: only count, and tally and report that read its output.
        let five = try await box.cellbook("run", pb, "--set", "greeting=Hi", "--set", "repeat=5", "--format", "json")
        #expect(try five.statuses() == ["greet:cached", "count:ran", "shout:cached", "words:cached", "tally:ran", "report:ran"])
        #expect(box.runs(flowCells) == [2, 2, 2, 2, 2, 3])

        let list = try await box.cellbook("list", pb, "--format", "json")
        let rows = try listStatuses(list)
        #expect(Array(rows.prefix(2)) == ["greet:stale", "count:stale"],
                "without the --set values the cells that read the params are stale: \(rows)")
    }

    @Test("--force runs cached cells again")
    func force() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        #expect(try await box.cellbook("run", pb).code == 0)
        let forced = try await box.cellbook("run", pb, "--force", "--format", "json")
        #expect(try forced.statuses() == flowCells.map { "\($0):ran" })
        #expect(box.runs(flowCells) == [2, 2, 2, 2, 2, 2])
    }

    @Test("a cell that does not publish a declared output fails, and later cells do not run")
    func declaredOutputMissing() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: outputs
            cells:
              - id: serve
                kind: shell
                with:
                  command: |
                    echo '{"url": "http://localhost:8080"}'
                outputs: [url, port]
              - id: use
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-use; echo {{ cells.serve.url }}
            """)
        let run = try await box.cellbook("run", pb, "--format", "json")
        #expect(run.code == 1, "\(run)")
        #expect(try run.statuses() == ["serve:failed"])
        let error = try #require(try run.json()["cells"]?.arrayValue?.first?["error"]?.stringValue)
        #expect(error.contains("declares output port but did not publish it"), "\(error)")
        #expect(box.runs("use") == 0)
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["serve:failed", "use:not run"])

        try box.playbook("""
            name: outputs
            cells:
              - id: serve
                kind: shell
                with:
                  command: echo listening
                outputs: [url]
            """)
        let noJSON = try await box.cellbook("run", pb, "--format", "json")
        #expect(noJSON.code == 1)
        let message = try #require(try noJSON.json()["cells"]?.arrayValue?.first?["error"]?.stringValue)
        #expect(message.contains("declares outputs url but its command printed no JSON object"), "\(message)")
    }

    @Test("the target is part of the cache key: each target runs its own cells, and editing its settings re-runs them")
    func cacheKeyFollowsTarget() async throws {
        let box = try Sandbox()
        let yaml = """
            name: targets
            targets:
              laptop:
                settings:
                  zone: a
              server:
                settings:
                  zone: a
            cells:
              - id: probe
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-probe; echo hi
            """
        let pb = try box.playbook(yaml)
        #expect(try await box.cellbook("run", pb, "--target", "laptop").code == 0)
        let server = try await box.cellbook("run", pb, "--target", "server", "--format", "json")
        #expect(try server.statuses() == ["probe:ran"], "a result on laptop is not a result on server")
        #expect(box.runs("probe") == 2)

        let laptopKey = try await box.cellbook("show", pb, "probe", "--target", "laptop", "--format", "json").json()["cache_key"]
        let serverKey = try await box.cellbook("show", pb, "probe", "--target", "server", "--format", "json").json()["cache_key"]
        #expect(laptopKey != nil && serverKey != nil)
        #expect(laptopKey != serverKey, "same inputs, same settings, different target: different cache keys")

        // A setting the cell does not even read is part of where it ran.
        try box.playbook(yaml.replacingOccurrences(of: "  server:\n    settings:\n      zone: a", with: "  server:\n    settings:\n      zone: b"))
        let laptop = try await box.cellbook("run", pb, "--target", "laptop", "--format", "json")
        #expect(try laptop.statuses() == ["probe:cached"])
        let moved = try await box.cellbook("run", pb, "--target", "server", "--format", "json")
        #expect(try moved.statuses() == ["probe:ran"])
        #expect(box.runs("probe") == 3)
    }

    @Test("the cache key hashes kind, inputs, target and upstream values, and nothing else")
    func cacheKeyInProcess() throws {
        let (playbook, parseProblems) = PlaybookParser.parse("""
            name: keys
            params:
              greeting: Hello
            targets:
              laptop:
                settings: {zone: a}
              server:
                settings: {zone: a}
            cells:
              - id: up
                kind: shell
                with:
                  command: echo hi
                outputs: [v]
              - id: down
                kind: shell
                with:
                  command: "echo {{ params.greeting }} {{ cells.up.v }}"
            """, file: "keys.yaml")
        #expect(parseProblems.isEmpty)
        let pb = try #require(playbook)
        func key(target: String, set: [String] = [], upstream: Value = "one", outputs: [String] = []) throws -> String {
            let (config, problems) = PlaybookValidation(kinds: cellKindSchemas, environment: [:]).validate(pb, target: target, overrides: set)
            #expect(problems.isEmpty)
            let c = try #require(config)
            var state = SessionState(playbook: "keys", target: target)
            state.cells["up"] = CellRecord(status: .ok, kind: "shell", cacheKey: "k", inputs: [:], reads: [:], outputs: ["v": upstream],
                                           startedAt: Date(), finishedAt: Date(), durationSeconds: 0.1, error: nil, pid: nil)
            let resolved = try CellResolver(config: c).resolve(pb.cells[1], state: state)
            #expect(resolved.real["command"] == .string("echo \(c.params["greeting"]!.interpolationText) \(upstream.interpolationText)"))
            #expect(resolved.reads == ["cells.up.v": upstream])
            var cell = pb.cells[1]
            cell.outputs = outputs
            return resolved.cacheKey(for: cell, target: c.target)
        }
        let base = try key(target: "laptop")
        #expect(try key(target: "laptop") == base, "the key is stable")
        #expect(base.count == 64 && base.allSatisfy(\.isHexDigit), "a SHA-256 in hex")
        #expect(try key(target: "server") != base)
        #expect(try key(target: "laptop", set: ["greeting=Hi"]) != base)
        #expect(try key(target: "laptop", upstream: "two") != base)
        let declared = try key(target: "laptop", outputs: ["a", "b"])
        #expect(declared != base, "declared outputs are part of the key")
        #expect(try key(target: "laptop", outputs: ["b", "a"]) == declared, "their order is not")
    }

    @Test("adding a name to a cell's outputs runs it again, so a later cell can read the new output")
    func declaredOutputsInKey() async throws {
        let box = try Sandbox()
        let yaml = """
            name: declared
            cells:
              - id: make
                kind: shell
                with:
                  command: |
                    echo run >> @DIR@/ran-make
                    echo '{"first": 1, "extra": 2}'
                outputs: [first]
            """
        let pb = try box.playbook(yaml)
        #expect(try await box.cellbook("run", pb).code == 0)
        try box.playbook(yaml.replacingOccurrences(of: "outputs: [first]", with: "outputs: [first, extra]") + """

              - id: use
                kind: shell
                with:
                  command: echo {{ cells.make.extra }}
            """)
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["make:stale", "use:not run"])
        let again = try await box.cellbook("run", pb, "--format", "json")
        #expect(again.code == 0, "\(again)")
        #expect(try again.statuses() == ["make:ran", "use:ran"])
        #expect(box.runs("make") == 2)
    }
}
