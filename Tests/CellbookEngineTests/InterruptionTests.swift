@testable import CellbookEngine
import SystemKit
import Foundation
import PlaybookModel
import Testing

/// A playbook whose `slow` cell signals that it started, then waits for a `release` file (or for
/// the test's folder to go, so a shell orphaned by SIGKILL never outlives the test).
let slowPlaybook = """
    name: slow
    cells:
      - id: first
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-first
            echo '{"ok": true}'
        outputs: [ok]
      - id: slow
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-slow
            touch @DIR@/slow-started
            while [ ! -f @DIR@/release ] && [ -d @DIR@ ]; do sleep 0.05; done
            echo done
      - id: last
        kind: shell
        with:
          command: echo run >> @DIR@/ran-last; echo {{ cells.first.ok }}
    """

@Suite("Locks, kills and interrupts")
struct InterruptionTests {
    @Test("a second run while one holds the state exits 2 naming the holder's pid")
    func lockContention() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(slowPlaybook)
        let holder = try box.start(["run", pb])
        defer { box.touch("release") }
        #expect(await box.waitFor("slow-started"), "the slow cell never started")

        let second = try await box.cellbook("run", pb)
        #expect(second.code == 2, "\(second)")
        #expect(second.stderr.contains("another cellbook run holds the state in \(box.outputs)/slow/default"), "\(second)")
        #expect(second.stderr.contains("pid \(holder.pid) "), "the message names the holder: \(second.stderr)")
        #expect(second.stderr.contains("cellbook run slow --target default"))
        let reset = try await box.cellbook("reset", pb)
        #expect(reset.code == 2, "reset must not pull state from under a run: \(reset)")

        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["first:cached", "slow:running", "last:not run"])

        box.touch("release")
        let done = try #require(await holder.wait(timeout: 30))
        #expect(done.code == 0, "\(done)")
        #expect(box.runs(["first", "slow", "last"]) == [1, 1, 1])
        let after = try await box.cellbook("run", pb, "--format", "json")
        #expect(after.code == 0, "the lock is released when the holder ends: \(after)")
    }

    @Test("the lock is exclusive within one process too, and released for the next taker")
    func fileLockInProcess() throws {
        let box = try Sandbox()
        let path = "\(box.root)/state/.lock"
        let a = FileLock(path: path)
        try a.acquire(description: "test holder")
        #expect(FileLock.isHeld(path: path))
        let b = FileLock(path: path)
        #expect {
            try b.acquire(description: "second")
        } throws: { error in
            guard case SystemError.locked(_, let holder) = error else { return false }
            return holder.contains("pid \(getpid())") && holder.contains("test holder")
        }
        a.release()
        #expect(!FileLock.isHeld(path: path))
        try b.acquire(description: "second")
        b.release()
    }

    @Test("SIGKILL mid-cell: state.json still parses, the cell is listed as interrupted, and the next run re-runs it")
    func sigkill() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(slowPlaybook)
        let run = try box.start(["run", pb])
        defer { box.touch("release") }
        #expect(await box.waitFor("slow-started"), "the slow cell never started")
        run.signal(SIGKILL)
        let killed = try #require(await run.wait(timeout: 10))
        #expect(killed.code == 128 + SIGKILL)

        let state = try box.state("slow")
        #expect(state["cells"]?["first"]?["status"] == "ok")
        #expect(state["cells"]?["slow"]?["status"] == "running", "the record a killed run leaves behind")
        #expect(state["cells"]?["slow"]?["pid"] == .int(Int(run.pid)))
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["first:cached", "slow:interrupted", "last:not run"])

        box.touch("release")
        let next = try await box.cellbook("run", pb, "--format", "json")
        #expect(next.code == 0, "\(next)")
        #expect(try next.statuses() == ["first:cached", "slow:ran", "last:ran"])
        #expect(box.runs(["first", "slow", "last"]) == [1, 2, 1])
        #expect(try box.state("slow")["cells"]?["slow"]?["status"] == "ok")
    }

    @Test("SIGINT mid-cell stops the cell, records it as interrupted and exits 130",
          arguments: [false, true])
    func sigint(earlierCellRanInThisProcess: Bool) async throws {
        let box = try Sandbox()
        let pb = try box.playbook(slowPlaybook)
        if !earlierCellRanInThisProcess {
            // `first` comes from cache, so `slow` is the first cell this process executes.
            #expect(try await box.cellbook("run", pb, "--only", "first").code == 0)
        }
        let run = try box.start(["run", pb])
        defer { box.touch("release") }
        #expect(await box.waitFor("slow-started"), "the slow cell never started")
        run.signal(SIGINT)
        let result = await run.wait(timeout: 15)
        if result == nil {
            // Let the cell end by itself so the test can finish, then fail.
            box.touch("release")
            _ = await run.wait(timeout: 30)
        }
        let stopped = try #require(result, "cellbook ignored SIGINT for 15 s (it had already run a cell: \(earlierCellRanInThisProcess))")
        #expect(stopped.code == 130, "\(stopped)")
        #expect(stopped.stdout.contains("slow interrupted"), "\(stopped)")
        #expect(stopped.stdout.contains("The next run re-runs 'slow'"))
        let state = try box.state("slow")
        #expect(state["cells"]?["slow"]?["status"] == "interrupted")
        let error = state["cells"]?["slow"]?["error"]?.stringValue ?? ""
        #expect(error.contains("interrupted"), "the recorded error (shown by `show` and `list`) should say the cell was interrupted, not \"\(error)\"")
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(try listStatuses(list) == ["first:cached", "slow:interrupted", "last:not run"])
        #expect(box.runs("slow") == 1)

        box.touch("release")
        let next = try await box.cellbook("run", pb, "--format", "json")
        #expect(try next.statuses() == ["first:cached", "slow:ran", "last:ran"])
        #expect(box.runs("slow") == 2)
    }

    @Test("SIGKILL mid-cell: the cell's shell and what it started in the background are stopped, not orphaned")
    func sigkillStopsTheCellsProcesses() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: orphans
            cells:
              - id: hold
                kind: shell
                with:
                  command: |
                    sleep 300 > /dev/null 2>&1 &
                    echo $! > @DIR@/background-pid
                    echo $$ > @DIR@/shell-pid
                    touch @DIR@/hold-started
                    while [ -d @DIR@ ]; do sleep 0.05; done
            """)
        let run = try box.start(["run", pb])
        #expect(await box.waitFor("hold-started"), "the cell never started")
        let pids = try ["shell-pid", "background-pid"].map { try pid(in: "\(box.root)/\($0)") }
        defer { pids.forEach { kill($0, SIGKILL) } }
        #expect(pids.allSatisfy(ChildProcess.isAlive))
        run.signal(SIGKILL)
        _ = try #require(await run.wait(timeout: 10))
        var left = pids
        for _ in 0..<100 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            left = left.filter(ChildProcess.isAlive)
        }
        #expect(left.isEmpty, "still running 10 s after cellbook was killed: \(left)")
    }

    @Test("a process a cell deliberately leaves running (output redirected) outlives the cell and the run")
    func backgroundProcessSurvivesNormalEnd() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: daemon
            cells:
              - id: start
                kind: shell
                with:
                  command: |
                    sleep 300 > /dev/null 2>&1 &
                    echo $! > @DIR@/background-pid
            """)
        let result = try await box.cellbook("run", pb)
        #expect(result.code == 0, "\(result)")
        let pid = try pid(in: "\(box.root)/background-pid")
        defer { kill(pid, SIGKILL) }
        // Ordering, not a sleep: wait until the watchdog (in the same process group) has made
        // its decision and left, however long a loaded machine takes, then look.
        let group = getpgid(pid)
        #expect(group > 0)
        var others = processes(inGroup: group).filter { $0 != pid }
        for _ in 0..<300 where !others.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            others = processes(inGroup: group).filter { $0 != pid }
        }
        #expect(others.isEmpty, "the watchdog was still running 30 s after the run: \(others)")
        #expect(ChildProcess.isAlive(pid), "the watchdog must stand down when cellbook ends normally")
    }
}

/// Live processes whose process group is `group` (from /proc; zombies do not count).
private func processes(inGroup group: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { pid_t($0) }.filter { p in
        guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        // After "pid (comm) ": state ppid pgrp ...
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 && fields[0] != "Z" && pid_t(fields[2]) == group
    }
}

/// The process id a cell wrote to `path`.
private func pid(in path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> pid_t {
    let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    return try #require(pid_t(text), "\(path) holds \(text)", sourceLocation: sourceLocation)
}
