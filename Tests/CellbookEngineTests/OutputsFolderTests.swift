@testable import CellbookEngine
@testable import PlaybookModel
import Foundation
import Testing

/// A configuration that skipped validation: the engine must hold even then.
private func unvalidatedConfig(playbook name: String, target: String) -> RunConfiguration {
    let top = PlaybookModel.SourceLocation(file: "test.yaml", line: 1, column: 1)
    let cell = CellSpec(id: "a", kind: "shell", title: "a", markdown: nil, with: ["command": "true"], outputs: [],
                        location: top, kindLocation: top, withLocations: [:])
    let targetSpec = TargetSpec(name: target, description: nil, settings: [:], location: top, settingLocations: [:])
    let pb = Playbook(file: "test.yaml", name: name, title: name, source: nil, description: nil, params: [], secrets: [],
                      targets: [targetSpec], defaultTarget: nil, defaultTargetLocation: nil, cells: [cell])
    return RunConfiguration(playbook: pb, target: targetSpec, params: [:], secretValues: [:])
}

@Suite("The outputs folder")
struct OutputsFolderTests {
    @Test("reset never deletes outside the outputs folder, even for a target name that slipped past validation")
    func resetStaysInside() throws {
        let box = try Sandbox()
        // outputs/demo/../../victim is <sandbox>/victim: a folder that looks like state.
        let victim = "\(box.root)/victim"
        try FileManager.default.createDirectory(atPath: "\(victim)/cells/a", withIntermediateDirectories: true)
        try "{}".write(toFile: "\(victim)/state.json", atomically: true, encoding: .utf8)
        let inspector = SessionInspector(config: unvalidatedConfig(playbook: "demo", target: "../../victim"), outputsRoot: box.outputs)
        #expect(throws: EngineError.self) { try inspector.reset(cell: nil) }
        #expect(throws: EngineError.self) { try inspector.reset(cell: "a") }
        #expect(box.exists("victim/state.json") && box.exists("victim/cells/a"), "reset deleted state outside outputs/")
        #expect(!box.exists("victim/.lock"), "reset wrote a lock outside outputs/")

        let store = StateStore(outputsRoot: box.outputs, playbook: "demo", target: "default")
        #expect(throws: EngineError.self) { try store.remove("\(box.outputs)/demo/../../victim") }
        #expect(throws: EngineError.self) { try store.remove(box.outputs) }
        #expect(box.exists("victim/state.json"))
    }

    @Test("run refuses a state folder outside the outputs folder and writes nothing there")
    func runStaysInside() async throws {
        let box = try Sandbox()
        let runner = PlaybookRunner(config: unvalidatedConfig(playbook: "demo", target: "../../victim"), kinds: [],
                                    outputsRoot: box.outputs, cacheDirectory: "\(box.root)/cache", environment: [:])
        await #expect(throws: EngineError.self) { _ = try await runner.run(RunOptions()) }
        #expect(!box.exists("victim"))
    }

    @Test("an empty --outputs or CELLBOOK_OUTPUTS is an input error (exit 2), not the file-system root")
    func emptyOutputs() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: cb-empty-outputs-test
            cells:
              - id: a
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-a
            """)
        let flag = try await box.cellbook("run", pb, "--outputs", "", withOutputs: false)
        #expect(flag.code == 2, "\(flag)")
        #expect(flag.stderr.contains("--outputs is empty"), "\(flag)")
        let env = try await box.cellbook("run", pb, environment: ["CELLBOOK_OUTPUTS": ""], withOutputs: false)
        #expect(env.code == 2, "\(env)")
        #expect(env.stderr.contains("CELLBOOK_OUTPUTS is empty"), "\(env)")
        for command in ["list", "state", "reset"] {
            let read = try await box.cellbook(command, pb, "--outputs", "", withOutputs: false)
            #expect(read.code == 2, "\(command): \(read)")
        }
        #expect(box.runs("a") == 0)
        #expect(!FileManager.default.fileExists(atPath: "/cb-empty-outputs-test"), "state was written at the root")
    }

    @Test("outputs that cannot be a folder (/dev/null, under /proc) are a clear input error, exit 2")
    func unusableOutputs() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: devices
            cells:
              - id: a
                kind: shell
                with:
                  command: echo run >> @DIR@/ran-a
            """)
        let null = try await box.cellbook("run", pb, "--outputs", "/dev/null", withOutputs: false)
        #expect(null.code == 2, "\(null)")
        #expect(null.stderr.contains("the outputs folder /dev/null (from --outputs) is not a folder"), "\(null)")
        let proc = try await box.cellbook("run", pb, "--outputs", "/proc/cellbook-outputs", withOutputs: false)
        #expect(proc.code == 2, "\(proc)")
        #expect(proc.stderr.contains("cannot create the folder /proc/cellbook-outputs/devices/default"), "\(proc)")
        for result in [null, proc] {
            #expect(!result.stderr.contains("Domain"), "a raw Foundation error: \(result.stderr)")
        }
        #expect(box.runs("a") == 0)
    }

    @Test("reset on a playbook that never ran writes nothing and says so")
    func resetNeverRan() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        let all = try await box.cellbook("reset", pb)
        #expect(all.code == 0, "\(all)")
        #expect(all.stdout.contains("Nothing to reset: flow has no stored result on target default"), "\(all)")
        let one = try await box.cellbook("reset", pb, "greet")
        #expect(one.stdout.contains("Nothing to reset"), "\(one)")
        #expect(!box.exists(box.outputs), "reset created \(box.files(under: box.outputs))")

        #expect(try await box.cellbook("run", pb, "--only", "greet").code == 0)
        let unrun = try await box.cellbook("reset", pb, "shout")
        #expect(unrun.stdout.contains("Nothing to reset: cell 'shout' has no stored result"), "\(unrun)")
        let ran = try await box.cellbook("reset", pb, "greet")
        #expect(ran.stdout.contains("Reset cell 'greet'."), "\(ran)")
        #expect(!box.exists("\(box.outputs)/flow/default/cells/greet"))
    }

    @Test("a state file that cannot be read is an environment error (exit 2), not a fresh session that replaces it")
    func unreadableState() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        // A folder where state.json should be: unreadable as a file, even for root.
        try FileManager.default.createDirectory(atPath: "\(box.outputs)/flow/default/state.json", withIntermediateDirectories: true)
        for command in ["run", "list", "state"] {
            let result = try await box.cellbook(command, pb)
            #expect(result.code == 2, "\(command): \(result)")
            #expect(result.stderr.contains("cannot read the state file \(box.outputs)/flow/default/state.json: Is a directory"), "\(result)")
        }
        #expect(box.runs(flowCells) == [0, 0, 0, 0, 0, 0])
    }

    @Test("an outputs folder cellbook may not write is a clear environment error (exit 2)",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "needs root, to run cellbook as nobody"))
    func permissionDenied() async throws {
        let box = try Sandbox()
        let pb = try box.playbook(flowPlaybook)
        try FileManager.default.createDirectory(atPath: box.outputs, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let process = try box.start(["run", pb], wrapper: nobody)
        let result = try #require(await process.wait(timeout: 60))
        #expect(result.code == 2, "\(result)")
        #expect(result.stderr.contains("cannot create the folder \(box.outputs)/flow/default: Permission denied"), "\(result)")
        #expect(!result.stderr.contains("Domain"))
        #expect(box.runs(flowCells) == [0, 0, 0, 0, 0, 0])
    }
}
