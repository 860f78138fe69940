import Foundation
import PlaybookModel
import Testing

@Suite("Run options: --only, --from, --until, --dry-run, --step, --no-cache")
struct PlaybookRunnerOptionsTests {
    @Test("--until stops after a cell; --from starts at one reading earlier values from state; --only runs one")
    func selection() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let until = try await box.cellbook("run", pb, "--until", "shout", "--format", "json")
        #expect(until.code == 0, "\(until)")
        #expect(try until.statuses() == ["greet:ran", "count:ran", "shout:ran"])
        #expect(box.runs(flowCells) == [1, 1, 1, 0, 0, 0])

        let from = try await box.cellbook("run", pb, "--from", "words", "--format", "json")
        #expect(from.code == 0, "\(from)")
        #expect(try from.statuses() == ["words:ran", "tally:ran", "report:ran"])
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 1, 1])

        let window = try await box.cellbook("run", pb, "--from", "count", "--until", "words", "--format", "json")
        #expect(try window.statuses() == ["count:cached", "shout:cached", "words:cached"])

        let only = try await box.cellbook("run", pb, "--only", "tally", "--force", "--format", "json")
        #expect(try only.statuses() == ["tally:ran"])
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 2, 1])

        // --from with a changed param: earlier cells are not run, so their stored values are used.
        let fromChanged = try await box.cellbook("run", pb, "--from", "shout", "--set", "greeting=Hi", "--format", "json")
        #expect(try fromChanged.statuses() == ["shout:cached", "words:cached", "tally:cached", "report:cached"])
        #expect(box.runs("greet") == 1)
    }

    @Test("bad selections exit 2 with a message and run nothing")
    func badSelections() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let unknown = try await box.cellbook("run", pb, "--only", "shoot")
        #expect(unknown.code == 2, "\(unknown)")
        #expect(unknown.stderr.contains("--only shoot: no such cell") && unknown.stderr.contains("did you mean 'shout'?"), "\(unknown)")
        let both = try await box.cellbook("run", pb, "--only", "shout", "--from", "greet")
        #expect(both.code == 2)
        #expect(both.stderr.contains("--only cannot be combined with --from or --until"), "\(both)")
        let backwards = try await box.cellbook("run", pb, "--from", "report", "--until", "greet")
        #expect(backwards.code == 2)
        #expect(backwards.stderr.contains("--from report comes after --until greet"), "\(backwards)")
        #expect(box.runs(flowCells) == [0, 0, 0, 0, 0, 0])
    }

    @Test("--only of a cell whose upstream has not run exits 2 naming the missing cell")
    func onlyWithoutUpstream() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let result = try await box.cellbook("run", pb, "--only", "shout")
        #expect(result.code == 2, "\(result)")
        #expect(result.stderr.contains("cell 'shout' cannot resolve {{ cells.greet.message }}: it has not run yet; run cell 'greet' first"),
                "\(result)")
        #expect(box.runs(flowCells) == [0, 0, 0, 0, 0, 0])
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == flowCells.map { "\($0):not run" })

        // --from past a cell that failed: the message says so.
        try box.playbook(flowPlaybook.replacingOccurrences(of: "echo run >> @DIR@/ran-greet", with: "echo run >> @DIR@/ran-greet; exit 4"))
        #expect(try await box.cellbook("run", pb).code == 1)
        let afterFailure = try await box.cellbook("run", pb, "--from", "shout")
        #expect(afterFailure.code == 2)
        #expect(afterFailure.stderr.contains("cannot resolve {{ cells.greet.message }}: its last run failed"), "\(afterFailure)")
        #expect(box.runs("shout") == 0)
    }

    @Test("--dry-run executes nothing and writes nothing, on a fresh folder and on existing state")
    func dryRun() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let fresh = try await box.cellbook("run", pb, "--dry-run", "--format", "json")
        #expect(fresh.code == 0, "\(fresh)")
        #expect(try fresh.statuses() == flowCells.map { "\($0):would-run" })
        let greet = try #require(try fresh.json()["cells"]?.arrayValue?.first)
        #expect(greet["inputs"]?["command"]?.stringValue?.contains("\"message\": \"Hello world\"") == true, "dry run shows resolved inputs")
        #expect(box.runs(flowCells) == [0, 0, 0, 0, 0, 0])
        #expect(!box.exists(box.outputs), "a dry run must not create the outputs folder")

        #expect(try await box.cellbook("run", pb).code == 0)
        let statePath = "\(box.outputs)/flow/default/state.json"
        let before = try Data(contentsOf: URL(fileURLWithPath: statePath))
        let filesBefore = box.files(under: box.outputs).sorted()
        let changed = try await box.cellbook("run", pb, "--dry-run", "--set", "repeat=7", "--format", "json")
        #expect(changed.code == 0)
        #expect(try changed.statuses().prefix(2) == ["greet:cached", "count:would-run"])
        let text = try await box.cellbook("run", pb, "--dry-run", "--set", "repeat=7")
        #expect(text.stdout.contains("dry run: nothing is executed or written"))
        #expect(text.stdout.contains("would run (inputs changed since the cached run)"), "\(text)")
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 1, 1])
        #expect(try Data(contentsOf: URL(fileURLWithPath: statePath)) == before, "state.json is untouched")
        #expect(box.files(under: box.outputs).sorted() == filesBefore)
    }

    @Test("--dry-run predicts the cells a real run executes, including those downstream of a change")
    func dryRunPredictsCascade() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        #expect(try await box.cellbook("run", pb).code == 0)
        let dry = try await box.cellbook("run", pb, "--dry-run", "--set", "greeting=Howdy there", "--format", "json")
        let real = try await box.cellbook("run", pb, "--set", "greeting=Howdy there", "--format", "json")
        #expect(try real.statuses() == ["greet:ran", "count:cached", "shout:ran", "words:ran", "tally:ran", "report:ran"])
        // greet's inputs changed; the cells below it run only if its new values differ.
        #expect(try dry.statuses() == ["greet:would-run", "count:cached", "shout:may-run", "words:may-run", "tally:may-run", "report:may-run"])
        for (predicted, actual) in zip(try dry.statuses(), try real.statuses()) {
            let ok = predicted.hasSuffix(":would-run") ? actual.hasSuffix(":ran")
                : predicted.hasSuffix(":cached") ? actual.hasSuffix(":cached") : true
            #expect(ok, "predicted \(predicted), the run did \(actual): a dry run must not promise 'cached' for a cell that reads a cell that would run")
        }
    }

    @Test("--dry-run does not promise runs a real run skips: a cell re-run with the same result leaves readers cached")
    func dryRunDoesNotOverPredict() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        #expect(try await box.cellbook("run", pb).code == 0)
        // count's command changes (it re-runs) but it publishes the same lines: tally and report stay cached.
        try box.playbook(flowPlaybook.replacingOccurrences(of: "echo '{\"lines\": {{ params.repeat }}}'",
                                                           with: "echo '{\"lines\": {{ params.repeat }}}' # same"))
        let dry = try await box.cellbook("run", pb, "--dry-run", "--format", "json")
        #expect(try dry.statuses() == ["greet:cached", "count:would-run", "shout:cached", "words:cached", "tally:may-run", "report:may-run"])
        let text = try await box.cellbook("run", pb, "--dry-run")
        #expect(text.stdout.contains("may run (if 'count' publishes new values)"), "\(text)")
        #expect(text.stdout.contains("1 would run · 2 may run · 3 cached"), "\(text)")
        let real = try await box.cellbook("run", pb, "--format", "json")
        #expect(try real.statuses() == ["greet:cached", "count:ran", "shout:cached", "words:cached", "tally:cached", "report:cached"])
    }

    @Test("--dry-run says why each cell would run: --force, never ran, inputs changed, failed")
    func dryRunReasons() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let fresh = try await box.cellbook("run", pb, "--dry-run", "--until", "count")
        #expect(fresh.stdout.contains("would run (it has not run yet)"), "\(fresh)")
        #expect(try await box.cellbook("run", pb).code == 0)
        let forced = try await box.cellbook("run", pb, "--dry-run", "--force", "--only", "count")
        #expect(forced.stdout.contains("would run (--force)"), "\(forced)")
        #expect(!forced.stdout.contains("inputs changed"), "\(forced)")
        let changed = try await box.cellbook("run", pb, "--dry-run", "--only", "count", "--set", "repeat=4")
        #expect(changed.stdout.contains("would run (inputs changed since the cached run)"), "\(changed)")
        try box.playbook(flowPlaybook.replacingOccurrences(of: "echo run >> @DIR@/ran-count", with: "echo run >> @DIR@/ran-count; exit 3"))
        #expect(try await box.cellbook("run", pb, "--set", "repeat=5").code == 1)
        let failed = try await box.cellbook("run", pb, "--dry-run", "--only", "count", "--set", "repeat=5")
        #expect(failed.stdout.contains("would run (its last run failed)"), "\(failed)")
    }

    @Test("--step: skipping a cell skips the cells that need its values, with the reason, and the run goes on")
    func stepSkipsDependents() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: stepdeps
            cells:
              - id: a
                kind: shell
                with:
                  command: |
                    echo run >> @DIR@/ran-a; echo '{"v": 1}'
                outputs: [v]
              - id: b
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-b; echo "{{ cells.a.v }}"
              - id: c
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-c
            """)
        let r = try await box.cellbook("run", pb, "--step", stdin: "s\nr\n")
        #expect(r.code == 0, "\(r)")
        #expect(r.stdout.contains("skipping 'b': it needs values from 'a', which did not run"))
        #expect(box.runs(["a", "b", "c"]) == [0, 0, 1])
        #expect(r.stdout.contains("3 cells · 1 ran · 0 cached · 2 skipped · 0 failed"))
    }

    @Test("--step reads answers from stdin: run, skip, quit; Enter runs and end of input quits")
    func step() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: stepper
            cells:
              - id: a
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-a
              - id: b
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-b
              - id: c
                kind: shell
                markdown: Cell c explains itself.
                with:
                  command: echo run >> @DIR@/ran-c
              - id: d
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-d
            """)
        let first = try await box.cellbook("run", pb, "--step", stdin: "r\ns\nq\n")
        #expect(first.code == 0, "\(first)")
        #expect(box.runs(["a", "b", "c", "d"]) == [1, 0, 0, 0])
        #expect(first.stdout.contains("[1/4] a · a: [r]un / [s]kip / [q]uit (r)?"), "\(first)")
        #expect(first.stdout.contains("skipped 'b'"))
        #expect(first.stdout.contains("Cell c explains itself."), "the narrative is shown before the question")
        #expect(first.stdout.contains("Stopped at cell 'c'; the next run continues from here."))
        #expect(first.stdout.contains("Summary: 2 cells · 1 ran · 0 cached · 1 skipped · 0 failed"), "only the cells reached are counted")
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["a:cached", "b:not run", "c:not run", "d:not run"])

        // Enter takes the default (run; for a cached cell, show it), a bad answer asks again,
        // and the end of input stops.
        let second = try await box.cellbook("run", pb, "--step", stdin: "\nmaybe\nr\n")
        #expect(second.code == 0, "\(second)")
        #expect(second.stdout.contains("show cached"), "a cached cell offers to show its result (not \"[r]how cached\"):\n\(second.stdout)")
        #expect(second.stdout.contains("answer r, s or q"))
        #expect(box.runs(["a", "b", "c", "d"]) == [1, 1, 0, 0])
        #expect(second.stdout.contains("Standard input ended: stopped at cell 'c'"), "\(second)")
    }

    @Test("Ctrl-C at a --step prompt quits at once (exit 130) and records nothing as run for that cell")
    func stepInterruptedAtPrompt() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: stepint
            cells:
              - id: a
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-a
              - id: b
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-b
            """)
        // One answer, then stdin stays open: cellbook waits at b's prompt as at a terminal.
        let run = try box.start(["run", pb, "--step"], stdin: "r\n", holdStdin: true)
        defer { run.closeStdin() }
        #expect(await run.waitForOutput("[2/2] b · b:"), "never asked about b: \(run.stdoutSoFar)")
        run.signal(SIGINT)
        let result = await run.wait(timeout: 15)
        if result == nil {
            run.closeStdin()
            _ = await run.wait(timeout: 30)
        }
        let stopped = try #require(result, "Ctrl-C at the prompt was ignored for 15 s")
        #expect(stopped.code == 130, "\(stopped)")
        #expect(stopped.stdout.contains("Interrupted at the prompt: cell 'b' was not run"), "\(stopped)")
        #expect(box.runs(["a", "b"]) == [1, 0])
        let state = try box.state("stepint")
        #expect(state["cells"]?["a"]?["status"] == "ok")
        #expect(state["cells"]?["b"] == nil, "b is recorded: \(state)")
    }

    @Test("--step with no answers at all (no terminal, empty stdin) says so and exits 2, running nothing")
    func stepWithoutInput() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let result = try await box.cellbook("run", pb, "--step", stdin: "")
        #expect(result.code == 2, "\(result)")
        #expect(result.stderr.contains("--step: standard input ended before the first answer (no terminal?); nothing was run."), "\(result)")
        #expect(box.runs(flowCells) == [0, 0, 0, 0, 0, 0])
    }

    @Test("--step with --format json keeps stdout a JSON document")
    func stepJSON() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let result = try await box.cellbook("run", pb, "--step", "--format", "json", stdin: "r\nr\nr\nr\nr\nr\n")
        #expect(result.code == 0, "\(result)")
        #expect(box.runs(flowCells) == [1, 1, 1, 1, 1, 1])
        #expect((try? JSONDecoder().decode(Value.self, from: Data(result.stdout.utf8))) != nil,
                "the prompts must go to stderr in JSON mode; stdout was:\n\(result.stdout)")
    }

    @Test("--no-cache runs everything, hands fresh values downstream, and keeps no state")
    func noCache() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let process = try box.start(["run", pb, "--no-cache", "--format", "json"])
        let fresh = try #require(await process.wait(timeout: 60))
        #expect(fresh.code == 0, "later cells must read what earlier cells of the same run published:\n\(fresh)")
        #expect(box.runs("greet") == 1)
        #expect(!box.exists("\(box.outputs)/flow/default/state.json"))
        let scratch = NSTemporaryDirectory() + "cellbook-no-cache-\(process.pid)"
        #expect(!FileManager.default.fileExists(atPath: scratch), "the throwaway run left \(scratch)")

        #expect(try await box.cellbook("run", pb).code == 0)
        let changed = try await box.cellbook("run", pb, "--no-cache", "--set", "greeting=Hi", "--format", "json")
        #expect(changed.code == 0, "\(changed)")
        let report = try? changed.json()["cells"]?.arrayValue?.last
        #expect(report?["outputs"]?["stdout"] == "HI WORLD x2", "report must see this run's greeting, not the stored one")
        let state = try await box.cellbook("state", pb, "--format", "json").json()
        #expect(state["greet"]?["message"] == "Hello world", "--no-cache leaves the stored state alone")
    }
}
