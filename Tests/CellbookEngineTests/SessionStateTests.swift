import Foundation
import PlaybookModel
import Testing

@Suite("Session state across processes")
struct SessionStateTests {
    @Test("values published by one process are read by the next: state, show and a later cell")
    func statePersists() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        #expect(try await box.cellbook("run", pb, "--until", "shout").code == 0)

        let state = try await box.cellbook("state", pb, "--format", "json")
        #expect(state.code == 0, "\(state)")
        let values = try state.json()
        #expect(values["greet"]?["message"] == "Hello world")
        #expect(values["count"]?["lines"] == 2)
        #expect(values["shout"]?["loud"] == "HELLO WORLD")
        #expect(values["greet"]?["exit_code"] == 0)
        #expect(values["words"] == nil, "a cell that has not run publishes nothing")

        let show = try await box.cellbook("show", pb, "shout", "--format", "json")
        #expect(show.code == 0)
        let detail = try show.json()
        #expect(detail["status"] == "cached")
        #expect(detail["reads"]?["cells.greet.message"] == "Hello world")
        #expect(detail["inputs"]?["command"]?.stringValue?.contains("echo 'Hello world' | tr a-z A-Z") == true)
        #expect(detail["log"]?.stringValue?.contains("{\"loud\": \"HELLO WORLD\"}") == true)
        #expect(detail["cache_key"] == detail["current_cache_key"])

        // A new process resumes from the stored values: the rest runs, the first three do not.
        let rest = try await box.cellbook("run", pb, "--format", "json")
        #expect(try rest.statuses() == ["greet:cached", "count:cached", "shout:cached", "words:ran", "tally:ran", "report:ran"])
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 1, 1])
        let all = try await box.cellbook("state", pb, "--format", "json").json()
        #expect(all["tally"]?["total"] == 4)
        #expect(all["report"]?["stdout"] == "HELLO WORLD x2")

        let text = try await box.cellbook("state", pb)
        #expect(text.stdout.contains("loud = HELLO WORLD"), "\(text)")
    }

    @Test("a failed cell exits 1; the next run serves earlier cells from cache and resumes at it")
    func failureThenResume() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: resume
            cells:
              - id: prepare
                kind: shell
                with:
                  command: |
                    echo run >> @DIR@/ran-prepare
                    echo '{"dir": "@DIR@"}'
                outputs: [dir]
              - id: flaky
                kind: shell
                with:
                  command: |
                    echo run >> @DIR@/ran-flaky
                    test -f {{ cells.prepare.dir }}/fixed || { echo "the fix is not in yet" >&2; exit 3; }
                    echo fixed
              - id: after
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-after
            """)
        let failed = try await box.cellbook("run", pb, "--format", "json")
        #expect(failed.code == 1, "\(failed)")
        #expect(try failed.statuses() == ["prepare:ran", "flaky:failed"], "the run stops at the failed cell")
        let error = try #require(try failed.json()["cells"]?.arrayValue?.last?["error"]?.stringValue)
        #expect(error.contains("exit code 3"))
        #expect(error.contains("the fix is not in yet"), "the failure shows the end of stderr: \(error)")
        #expect(try failed.json()["exit_code"] == 1)
        #expect(box.runs(["prepare", "flaky", "after"]) == [1, 1, 0])

        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["prepare:cached", "flaky:failed", "after:not run"])
        let text = try await box.cellbook("run", pb)
        #expect(text.code == 1)
        #expect(text.stdout.contains("Fix the cause and run again"), "\(text)")
        #expect(box.runs(["prepare", "flaky", "after"]) == [1, 2, 0])

        box.touch("fixed")
        let resumed = try await box.cellbook("run", pb, "--format", "json")
        #expect(resumed.code == 0, "\(resumed)")
        #expect(try resumed.statuses() == ["prepare:cached", "flaky:ran", "after:ran"])
        #expect(box.runs(["prepare", "flaky", "after"]) == [1, 3, 1])
    }

    @Test("reset forgets one cell (it runs again) or every cell (all run again)")
    func reset() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        #expect(try await box.cellbook("run", pb).code == 0)
        let greetFolder = "\(box.outputs)/flow/default/cells/greet"
        #expect(box.exists(greetFolder))

        let one = try await box.cellbook("reset", pb, "greet")
        #expect(one.code == 0, "\(one)")
        #expect(one.stdout.contains("Reset cell 'greet'."))
        #expect(!box.exists(greetFolder), "the cell's folder (its log) goes too")
        let afterOne = try await box.cellbook("list", pb, "--format", "json")
        // Cells that read greet's forgotten value cannot be checked until it runs again, and
        // neither can the cells that read theirs: all are stale until the run shows otherwise.
        #expect(try listStatuses(afterOne) == ["greet:not run", "count:cached", "shout:stale", "words:stale", "tally:stale", "report:stale"])
        let rerun = try await box.cellbook("run", pb, "--format", "json")
        #expect(try rerun.statuses() == ["greet:ran", "count:cached", "shout:cached", "words:cached", "tally:cached", "report:cached"],
                "greet publishes the same message again, so nothing downstream re-runs")
        #expect(box.runs(flowCells) == [2, 1, 1, 1, 1, 1])

        let unknown = try await box.cellbook("reset", pb, "gret")
        #expect(unknown.code == 2)
        #expect(unknown.stderr.contains("no cell 'gret'") && unknown.stderr.contains("did you mean 'greet'?"), "\(unknown)")

        let all = try await box.cellbook("reset", pb)
        #expect(all.code == 0)
        #expect(all.stdout.contains("Reset every cell of flow on target default."))
        #expect(!box.exists("\(box.outputs)/flow/default/state.json"))
        let afterAll = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(afterAll) == flowCells.map { "\($0):not run" })
        let state = try await box.cellbook("state", pb, "--format", "json").json()
        #expect(state == [:])
        let fresh = try await box.cellbook("run", pb, "--format", "json")
        #expect(try fresh.statuses() == flowCells.map { "\($0):ran" })
        #expect(box.runs(flowCells) == [3, 2, 2, 2, 2, 2])
    }

    @Test("an invalid playbook exits 2, says nothing was run or written, and creates no outputs folder")
    func invalidPlaybookWritesNothing() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: broken
            cells:
              - id: a
                kind: shell
                with:
                  command: "echo run >> @DIR@/ran-a {{ params.missing }}"
              - id: b
                kind: shel
                with:
                  command: echo hi
            """)
        for command in ["run", "validate"] {
            let result = try await box.cellbook(command, pb)
            #expect(result.code == 2, "\(command): \(result)")
            #expect(result.stderr.contains("\(pb):8:11: error: unknown kind 'shel' in cell 'b'"), "\(result)")
            #expect(result.stderr.contains("did you mean 'shell'?"))
            #expect(result.stderr.contains("2 problems found; nothing was run or written."), "\(result)")
        }
        #expect(box.runs("a") == 0)
        #expect(!box.exists(box.outputs), "no outputs folder may be created for an invalid playbook")
        #expect(!box.exists("outputs"))

        let json = try await box.cellbook("validate", pb, "--format", "json")
        #expect(json.code == 2)
        let report = try json.json()
        #expect(report["valid"] == false)
        let problems = try #require(report["problems"]?.arrayValue)
        #expect(problems.count == 2)
        #expect(problems.contains { $0["message"] == "unknown kind 'shel' in cell 'b'" && $0["location"]?["line"] == 8 && $0["location"]?["column"] == 11 })

        let badSet = try await box.cellbook("run", box.playbook("name: ok\nparams:\n  n: 1\ncells: []\n", name: "ok.yaml"), "--set", "n=x")
        #expect(badSet.code == 2)
        #expect(badSet.stderr.contains("param 'n' is int; 'x' is not"), "\(badSet)")
        #expect(!box.exists(box.outputs))
    }
}
