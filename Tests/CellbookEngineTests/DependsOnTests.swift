@testable import CellbookEngine
import Foundation
import PlaybookModel
import Testing

@Suite("Files and variables a cell declares it reads (depends_on)")
struct DependsOnTests {
    private func write(_ box: Sandbox, _ name: String, _ text: String) throws {
        let path = "\(box.root)/\(name)"
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("a file a shell cell reads: an edit runs the cell again, with the reason in list, show and --dry-run")
    func fileChange() async throws {
        let box = try Sandbox()
        try write(box, "input.txt", "one\ntwo\n")
        let pb = try box.playbook("""
            name: files
            cells:
              - id: count
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-count; wc -l < input.txt
                depends_on:
                  files: [input.txt]
              - id: blind
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-blind; wc -l < input.txt
            """)
        #expect(try await box.cellbook("run", pb).code == 0)
        #expect(try await box.cellbook("run", pb, "--format", "json").statuses() == ["count:cached", "blind:cached"])

        try write(box, "input.txt", "one\ntwo\nthree\n")
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["count:stale", "blind:cached"], "a cell without depends_on does not see the file")
        let show = try await box.cellbook("show", pb, "count")
        #expect(show.stdout.contains("(stale: input.txt changed)"), "\(show)")
        #expect(show.stdout.contains("depends on (as when it ran):\n  input.txt: input.txt (sha256 "), "\(show)")
        let dry = try await box.cellbook("run", pb, "--dry-run")
        #expect(dry.stdout.contains("would run (input.txt changed)"), "\(dry)")

        let again = try await box.cellbook("run", pb, "--format", "json")
        #expect(try again.statuses() == ["count:ran", "blind:cached"])
        let count = try #require(try again.json()["cells"]?.arrayValue?.first)
        #expect(count["outputs"]?["stdout"] == "3")
        #expect(box.runs(["count", "blind"]) == [2, 1])
        #expect(try box.state("files")["cells"]?["count"]?["depends_on"]?["files"]?["input.txt"]?["input.txt"]?.stringValue?.count == 64)
    }

    @Test("globs and folders: a file added, changed or removed under them runs the cell again")
    func globsAndFolders() async throws {
        let box = try Sandbox()
        try write(box, "data/a.csv", "1\n")
        try write(box, "conf/deep/settings.ini", "x=1\n")
        let pb = try box.playbook("""
            name: globs
            cells:
              - id: load
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-load
                depends_on:
                  files: ["data/*.csv", conf]
            """)
        #expect(try await box.cellbook("run", pb).code == 0)
        try write(box, "data/b.csv", "2\n")
        try write(box, "data/notes.txt", "not matched\n")
        let dry = try await box.cellbook("run", pb, "--dry-run")
        #expect(dry.stdout.contains("would run (data/b.csv added)"), "\(dry)")
        #expect(try await box.cellbook("run", pb, "--format", "json").statuses() == ["load:ran"])
        try write(box, "data/notes.txt", "still not matched\n")
        #expect(try await box.cellbook("run", pb, "--format", "json").statuses() == ["load:cached"])
        try write(box, "conf/deep/settings.ini", "x=2\n")
        let deep = try await box.cellbook("run", pb, "--dry-run")
        #expect(deep.stdout.contains("would run (conf/deep/settings.ini changed)"), "\(deep)")
        #expect(try await box.cellbook("run", pb, "--format", "json").statuses() == ["load:ran"])
        try FileManager.default.removeItem(atPath: "\(box.root)/data/a.csv")
        let removed = try await box.cellbook("run", pb, "--dry-run")
        #expect(removed.stdout.contains("would run (data/a.csv removed)"), "\(removed)")
        #expect(box.runs("load") == 3)
    }

    @Test("an environment variable: set, changed or unset runs the cell again; its value is never stored")
    func environmentVariable() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: envdep
            cells:
              - id: greet
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-greet; echo "mode=$CBTEST_MODE"
                depends_on:
                  env: [CBTEST_MODE]
            """)
        #expect(try await box.cellbook("run", pb, environment: ["CBTEST_MODE": "fast-and-loud"]).code == 0)
        #expect(try await box.cellbook("run", pb, "--format", "json", environment: ["CBTEST_MODE": "fast-and-loud"]).statuses() == ["greet:cached"])
        let dry = try await box.cellbook("run", pb, "--dry-run", environment: ["CBTEST_MODE": "slow"])
        #expect(dry.stdout.contains("would run (environment variable CBTEST_MODE changed)"), "\(dry)")
        #expect(try await box.cellbook("run", pb, "--format", "json", environment: ["CBTEST_MODE": "slow"]).statuses() == ["greet:ran"])
        #expect(try await box.cellbook("run", pb, "--format", "json").statuses() == ["greet:ran"], "unset is a change too")
        let state = try String(contentsOfFile: "\(box.outputs)/envdep/default/state.json", encoding: .utf8)
        #expect(state.contains("\"CBTEST_MODE\" : \"unset\""), "\(state)")
        #expect(box.runs("greet") == 3)
    }

    @Test("a pattern's matches are sorted and relative as written; a missing file matches nothing")
    func matching() throws {
        let box = try Sandbox()
        try write(box, "d/b.txt", "b")
        try write(box, "d/a.txt", "a")
        try write(box, "d/sub/c.txt", "c")
        #expect(DependencySnapshot.matches("d/*.txt", in: box.root) == ["d/a.txt", "d/b.txt"])
        #expect(DependencySnapshot.matches("d", in: box.root) == ["d/a.txt", "d/b.txt", "d/sub/c.txt"])
        #expect(DependencySnapshot.matches("nope.txt", in: box.root).isEmpty)
        #expect(DependencySnapshot.matches("\(box.root)/d/a.txt", in: "/").first == "\(box.root)/d/a.txt")
        let snap = DependencySnapshot.take(CellDependencies(files: ["d/*.txt", "nope.txt"], env: ["A", "B"]),
                                           environment: ["A": "x"], directory: box.root)
        #expect(snap.files["nope.txt"] == [:])
        #expect(snap.files["d/*.txt"]?["d/a.txt"] == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")
        #expect(snap.env["B"] == "unset")
    }
}
