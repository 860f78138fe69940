import Foundation
import PlaybookModel
import Testing

/// The `cellbook` binary the tests drive: `$CELLBOOK_BIN`, else the one built next to this test
/// bundle, else the package's usual build folders.
enum CellbookBinary {
    static let path: String? = {
        let fm = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["CELLBOOK_BIN"] { return explicit }
        var candidates: [String] = []
        if let exe = Bundle.main.executableURL {
            candidates.append(exe.deletingLastPathComponent().appendingPathComponent("cellbook").path)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for scratch in [".build-tests", ".build"] {
            candidates.append(root.appendingPathComponent("\(scratch)/debug/cellbook").path)
        }
        return candidates.first { fm.isExecutableFile(atPath: $0) }
    }()

    static func require(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
        try #require(path, "no cellbook binary: build it with `swift build --scratch-path .build-tests --product cellbook` or set CELLBOOK_BIN",
                     sourceLocation: sourceLocation)
    }
}

/// What one `cellbook` invocation did.
struct CLIResult: CustomStringConvertible {
    var code: Int32
    var stdout: String
    var stderr: String

    /// stdout parsed as JSON.
    func json(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Value {
        do {
            return try JSONDecoder().decode(Value.self, from: Data(stdout.utf8))
        } catch {
            Issue.record("stdout is not JSON (\(error)):\n\(stdout)", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// "id:status" for each cell of a `run --format json` summary, in order.
    func statuses(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> [String] {
        let cells = try #require(try json(sourceLocation: sourceLocation)["cells"]?.arrayValue,
                                 "no cells in the summary:\n\(stdout)", sourceLocation: sourceLocation)
        return cells.map { "\($0["id"]?.stringValue ?? "?"):\($0["status"]?.stringValue ?? "?")" }
    }

    var description: String { "exit \(code)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

/// A `cellbook` process still running, for signal and lock tests.
///
/// Spawned with posix_spawn and reaped with waitpid rather than Foundation's `Process`, which
/// reports a process as running for as long as any of its descendants (a cell's shell left
/// behind by SIGKILL, say) holds an inherited descriptor.
final class RunningCellbook: @unchecked Sendable {
    let pid: pid_t
    private let stdoutPath: String
    private let stderrPath: String
    private var exitCode: Int32?
    /// The writing end of its stdin, when the test keeps it open.
    private var stdinFD: Int32

    init(pid: pid_t, stdoutPath: String, stderrPath: String, stdinFD: Int32 = -1) {
        self.pid = pid
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        self.stdinFD = stdinFD
    }

    deinit { closeStdin() }

    func signal(_ sig: Int32) { kill(pid, sig) }

    func closeStdin() {
        if stdinFD >= 0 { close(stdinFD) }
        stdinFD = -1
    }

    /// What it has printed on stdout so far.
    var stdoutSoFar: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }

    /// Waits until its stdout contains `text`.
    func waitForOutput(_ text: String, timeout: Double = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !stdoutSoFar.contains(text) {
            if Date() > deadline { return false }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return true
    }

    /// Waits for the process to exit; nil when it is still running after `timeout` seconds.
    /// A process killed by a signal reports 128 + the signal, as a shell would.
    func wait(timeout: Double) async -> CLIResult? {
        let deadline = Date().addingTimeInterval(timeout)
        while exitCode == nil {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let signal = status & 0x7f
                exitCode = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            } else if r < 0 && errno != EINTR {
                exitCode = -1
            } else {
                if Date() > deadline { return nil }
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return CLIResult(code: exitCode ?? -1, stdout: out, stderr: err)
    }
}

private let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

/// A temporary folder for one test: its playbook, its outputs folder, and counter files that
/// shell cells append to each time they execute. Playbooks write `@DIR@` for this folder.
final class Sandbox: @unchecked Sendable {
    let root: String
    var outputs: String { "\(root)/outputs" }

    init() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("cellbook-engine-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit {
        // Let any cell still waiting on `release` finish before the folder goes.
        touch("release")
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Writes a playbook (with `@DIR@` replaced by this folder) and returns its path.
    @discardableResult
    func playbook(_ yaml: String, name: String = "playbook.yaml") throws -> String {
        let path = "\(root)/\(name)"
        try yaml.replacingOccurrences(of: "@DIR@", with: root).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// How many times a cell that runs `echo run >> @DIR@/ran-NAME` has executed.
    func runs(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "\(root)/ran-\(name)", encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").count
    }

    func runs(_ names: [String]) -> [Int] { names.map(runs) }

    func touch(_ name: String) {
        _ = FileManager.default.createFile(atPath: "\(root)/\(name)", contents: nil)
    }

    func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path.hasPrefix("/") ? path : "\(root)/\(path)")
    }

    /// Every regular file under `path`, recursively.
    func files(under path: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(path)/\(rel)", isDirectory: &isDir), !isDir.boolValue {
                out.append("\(path)/\(rel)")
            }
        }
        return out
    }

    /// Waits until `name` exists in this folder.
    func waitFor(_ name: String, timeout: Double = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !exists(name) {
            if Date() > deadline { return false }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return true
    }

    /// The environment a user's shell would give cellbook, without colour and with a private cache.
    func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("CELLBOOK_") || key.hasPrefix("CBTEST_") { env[key] = nil }
        env["NO_COLOR"] = "1"
        env["CELLBOOK_CACHE"] = "\(root)/cache"
        return env.merging(extra) { _, new in new }
    }

    /// Starts `cellbook ARGS --outputs OUTPUTS` in this folder, with default signal handling.
    /// `withOutputs: false` leaves out `--outputs` (for tests of the outputs folder itself);
    /// `wrapper` runs cellbook through another program (`setpriv ...` to drop root).
    func start(_ args: [String], stdin: String? = nil, environment extra: [String: String] = [:],
               withOutputs: Bool = true, holdStdin: Bool = false, wrapper: [String] = []) throws -> RunningCellbook {
        let binary = try CellbookBinary.require()
        let id = UUID().uuidString
        let out = "\(root)/.stdout-\(id)", err = "\(root)/.stderr-\(id)"

        // stdin is a pipe whose other ends never leak into processes other tests start.
        var input: [Int32] = [0, 0]
        guard pipe(&input) == 0 else { throw POSIXError(.EMFILE) }
        for fd in input { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &defaults)

        // The shell changes to this folder and execs cellbook, which keeps the shell's pid.
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", root] + wrapper + [binary] + args + (withOutputs ? ["--outputs", outputs] : [])
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment(extra).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, cArgs, cEnv)
        close(input[0])
        guard rc == 0 else {
            close(input[1])
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL)
        }
        if let stdin {
            _ = ignoreSIGPIPE  // a cellbook that exits before reading must not kill the test runner
            let bytes = Array(stdin.utf8)
            _ = bytes.withUnsafeBytes { Foundation.write(input[1], $0.baseAddress, $0.count) }
        }
        if holdStdin { return RunningCellbook(pid: pid, stdoutPath: out, stderrPath: err, stdinFD: input[1]) }
        close(input[1])
        return RunningCellbook(pid: pid, stdoutPath: out, stderrPath: err)
    }

    /// Runs `cellbook ARGS --outputs OUTPUTS` to completion (killing it after `timeout` seconds).
    func cellbook(_ args: String..., stdin: String? = nil, environment: [String: String] = [:], timeout: Double = 60,
                  withOutputs: Bool = true, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CLIResult {
        try await cellbook(args, stdin: stdin, environment: environment, timeout: timeout, withOutputs: withOutputs,
                           sourceLocation: sourceLocation)
    }

    func cellbook(_ args: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Double = 60,
                  withOutputs: Bool = true, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CLIResult {
        let running = try start(args, stdin: stdin, environment: environment, withOutputs: withOutputs)
        if let result = await running.wait(timeout: timeout) { return result }
        running.signal(SIGKILL)
        Issue.record("cellbook \(args.joined(separator: " ")) did not finish in \(timeout) s", sourceLocation: sourceLocation)
        return await running.wait(timeout: 10) ?? CLIResult(code: -1, stdout: "", stderr: "")
    }

    /// The state file of a playbook on a target, parsed.
    func state(_ playbook: String, target: String = "default") throws -> Value {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(outputs)/\(playbook)/\(target)/state.json"))
        return try JSONDecoder().decode(Value.self, from: data)
    }
}

/// "id:status" for each row of `cellbook list --format json`.
func listStatuses(_ result: CLIResult, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> [String] {
    let rows = try #require(try result.json(sourceLocation: sourceLocation).arrayValue, "\(result)", sourceLocation: sourceLocation)
    return rows.map { "\($0["id"]?.stringValue ?? "?"):\($0["status"]?.stringValue ?? "?")" }
}

/// A playbook whose values flow through six shell cells, each counting its executions:
///
///     greet ──► shout ───────────────► report
///       └─────► words ──► tally
///     count ────────────────┘
///
/// `greet` reads `greeting`, `count` reads `repeat`; `words` publishes the word count of
/// greet's message, which "Hello world" and "Hi world" share.
let flowPlaybook = """
    name: flow
    params:
      greeting: Hello
      repeat: 2
    cells:
      - id: greet
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-greet
            echo '{"message": "{{ params.greeting }} world"}'
        outputs: [message]
      - id: count
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-count
            echo '{"lines": {{ params.repeat }}}'
        outputs: [lines]
      - id: shout
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-shout
            printf '{"loud": "%s"}\\n' "$(echo '{{ cells.greet.message }}' | tr a-z A-Z)"
        outputs: [loud]
      - id: words
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-words
            printf '{"words": %s}\\n' "$(echo '{{ cells.greet.message }}' | wc -w)"
        outputs: [words]
      - id: tally
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-tally
            printf '{"total": %s}\\n' "$(( {{ cells.words.words }} + {{ cells.count.lines }} ))"
        outputs: [total]
      - id: report
        kind: shell
        with:
          command: |
            echo run >> @DIR@/ran-report
            echo "{{ cells.shout.loud }} x{{ cells.count.lines }}"
    """

let flowCells = ["greet", "count", "shout", "words", "tally", "report"]
