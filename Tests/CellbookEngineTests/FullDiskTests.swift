@testable import CellbookEngine
import Foundation
import PlaybookModel
import Testing

/// Whether this process may mount a small tmpfs (Linux, as root, where the container allows it).
private let canMountTmpfs: Bool = {
    #if os(Linux)
    guard getuid() == 0 else { return false }
    let probe = FileManager.default.temporaryDirectory.appendingPathComponent("cellbook-mount-probe-\(UUID().uuidString)").path
    guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)) != nil else { return false }
    defer { try? FileManager.default.removeItem(atPath: probe) }
    guard mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount(probe)
    return true
    #else
    return false
    #endif
}()

/// Mounts a tmpfs of 64 KiB on `path` (read-only if asked); `unmount` undoes it.
private func mountTmpfs(_ path: String, readOnly: Bool = false) -> Bool {
    #if os(Linux)
    return mount("tmpfs", path, "tmpfs", readOnly ? UInt(MS_RDONLY) : 0, "size=64k") == 0
    #else
    return false
    #endif
}

private func unmount(_ path: String) {
    #if os(Linux)
    umount2(path, Int32(MNT_DETACH))
    #endif
}

@Suite("A full disk")
struct FullDiskTests {
    @Test("a log write that fails (ENOSPC, as /dev/full gives) is remembered with the path, never a crash",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "needs /dev/full (Linux)"))
    func consoleReportsFullDisk() {
        let console = CellConsole(logPath: "/dev/full", redactor: Redactor(secrets: [:]), echo: false)
        console.write("a line the disk has no room for\n")
        console.progress("50%", final: true)
        console.close()
        let failure = console.failure ?? ""
        #expect(failure.contains("cannot write the cell's log /dev/full"), "\(failure)")
        #expect(failure.contains("No space left on device"), "\(failure)")
    }

    @Test("the disk fills during a cell: the cell fails naming the device and the path, exit 1, state still readable",
          .enabled(if: canMountTmpfs, "needs root to mount a 64 KiB tmpfs"))
    func diskFillsDuringCell() async throws {
        let box = try Sandbox()
        try FileManager.default.createDirectory(atPath: box.outputs, withIntermediateDirectories: true)
        #expect(mountTmpfs(box.outputs))
        defer { unmount(box.outputs) }
        let pb = try box.playbook("""
            name: full
            cells:
              - id: small
                kind: shell
                with:
                  command: |
                    echo '{"ok": true}'
                outputs: [ok]
              - id: flood
                kind: shell
                with:
                  command: |
                    echo run >> @DIR@/ran-flood
                    head -c 300000 /dev/zero | tr '\\0' x
            """)
        let run = try await box.cellbook("run", pb)
        #expect(run.code == 1, "\(run.code) (132 is the crash)\n\(run.stderr.suffix(2000))")
        let said = run.stdout + run.stderr
        #expect(said.contains("flood failed"), "\(said.suffix(2000))")
        #expect(said.contains("No space left on device"))
        #expect(said.contains("\(box.outputs)/full/default/cells/flood/log.txt"), "the message names the path")
        #expect(!said.contains("Fatal error"))

        // Whatever could be written, state.json is whole, and the next commands read it.
        let state = try box.state("full")
        #expect(state["cells"]?["small"]?["status"] == "ok")
        let list = try await box.cellbook("list", pb, "--format", "json")
        #expect(list.code == 0, "\(list)")
        let statuses = try listStatuses(list)
        #expect(statuses.first == "small:cached")
        #expect(["flood:failed", "flood:interrupted"].contains(statuses.last ?? ""), "\(statuses)")
    }

    @Test("a read-only outputs folder is a clear environment error (exit 2), before anything runs",
          .enabled(if: canMountTmpfs, "needs root to mount a read-only tmpfs"))
    func readOnlyOutputs() async throws {
        let box = try Sandbox()
        try FileManager.default.createDirectory(atPath: box.outputs, withIntermediateDirectories: true)
        #expect(mountTmpfs(box.outputs, readOnly: true))
        defer { unmount(box.outputs) }
        let pb = try box.playbook(flowPlaybook)
        let run = try await box.cellbook("run", pb)
        #expect(run.code == 2, "\(run)")
        #expect(run.stderr.contains("cannot create the folder \(box.outputs)/flow/default: Read-only file system"), "\(run)")
        #expect(!run.stderr.contains("Domain"))
        #expect(box.runs(flowCells) == [0, 0, 0, 0, 0, 0])
    }
}
