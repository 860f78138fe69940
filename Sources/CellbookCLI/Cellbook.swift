import SystemKit
import ArgumentParser
import CellbookEngine
import Foundation
import PlaybookModel
import ServingKit

/// The root command. Subcommands are one file each and hold no logic of their own.
public struct Cellbook: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "cellbook",
        abstract: "Run executable tutorials cell by cell, with shared session state and a per-cell cache.",
        discussion: """
            A playbook (YAML, under playbooks/) holds ordered cells. `cellbook run` runs them in order; a cell \
            whose inputs did not change since it last succeeded is served from cache. State lives under \
            outputs/<playbook>/<target>/.

            Examples:
              cellbook run playbooks/deploy-llama3.yaml
              cellbook run deploy-llama3 --set max_tokens=128 --step
              cellbook list deploy-llama3
              cellbook show deploy-llama3 chat --format json

            Exit codes: 0 ok, 1 a cell failed, 2 usage or input error.
            """,
        version: version,
        subcommands: [Run.self, Validate.self, List.self, Show.self, State.self, Reset.self, Status.self, Cleanup.self, Doctor.self,
                      Replay.self, Export.self, Check.self])

    public init() {}

    /// Runs the command line with cellbook's exit codes: usage errors are 2, not ArgumentParser's 64.
    /// Help and the version go to stdout (they are what was asked for); errors go to stderr,
    /// and with `--format json` also to stdout as a JSON object, so stdout is never empty.
    public static func runMain() async -> Never {
        let json = wantsJSON(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch let e as PlaybookError {
            fail(e.description, code: 2, json: json, problems: e.diagnostics, more: e.omitted)
        } catch let e as EngineError {
            fail("error: \(e)", code: e.exitCode, json: json)
        } catch let e as SystemError {
            // A lock held by another run, a folder that cannot be created or written: the
            // machine's state, not a failed cell.
            fail("error: \(e)", code: 2, json: json)
        } catch let e where e is CocoaError || (e as NSError).domain == NSPOSIXErrorDomain {
            fail("error: \(SystemError.describe(e))", code: 2, json: json)
        } catch let e as ExitCode {
            // The command already said why (a failed cell, a JSON report).
            Foundation.exit(e.rawValue)
        } catch {
            let code = exitCode(for: error).rawValue
            let message = fullMessage(for: error)
            if code == 0 {
                if !message.isEmpty { write(message + "\n", to: FileHandle.standardOutput) }
                Foundation.exit(0)
            }
            fail(message, code: code == ExitCode.validationFailure.rawValue ? 2 : code, json: json)
        }
    }

    /// Whether the command line asks for JSON output (read before parsing, so that parse errors honour it too).
    static func wantsJSON(_ arguments: [String]) -> Bool {
        for (i, a) in arguments.enumerated() {
            if a == "--format=json" { return true }
            if a == "--format", i + 1 < arguments.count, arguments[i + 1] == "json" { return true }
        }
        return false
    }

    /// An error's report on stdout with --format json.
    struct ErrorReport: Encodable {
        var error: String
        var exitCode: Int32
        var problems: [Diagnostic]?
        var moreProblems: Int?

        enum CodingKeys: String, CodingKey {
            case error, problems
            case exitCode = "exit_code"
            case moreProblems = "more_problems"
        }
    }

    private static func fail(_ message: String, code: Int32, json: Bool, problems: [Diagnostic]? = nil, more: Int = 0) -> Never {
        if !message.isEmpty { write(message + "\n", to: FileHandle.standardError) }
        if json {
            let first = problems == nil ? message.replacingOccurrences(of: "error: ", with: "", options: .anchored) : "the playbook has problems"
            let report = ErrorReport(error: first, exitCode: code, problems: problems, moreProblems: more > 0 ? more : nil)
            if let data = try? JSONEncoder.pretty.encode(report) { write(String(decoding: data, as: UTF8.self) + "\n", to: FileHandle.standardOutput) }
        }
        Foundation.exit(code)
    }

    private static func write(_ text: String, to handle: FileHandle) {
        try? handle.write(contentsOf: Data(text.utf8))
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Options every command that reads a playbook shares.
struct PlaybookOptions: ParsableArguments {
    @Argument(help: "The playbook: a path, or a name under playbooks/ (e.g. deploy-llama3).")
    var playbook: String

    @Option(name: .long, help: "The target to run on (default: the playbook's default_target).")
    var target: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a param: key=value (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Option(name: .long, help: "The outputs folder (default: ./outputs, or $CELLBOOK_OUTPUTS).")
    var outputs: String?

    @Option(name: .long, help: "A workshop session: state, cache and resource names of its own (default: $CELLBOOK_SESSION).")
    var session: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The session: --session, else $CELLBOOK_SESSION, else none; a bad name is an input error.
    func sessionName() throws -> String? {
        try resolvedSession(session, environment: environment)
    }

    /// The outputs folder (`resolvedOutputsRoot`).
    func outputsRoot() throws -> String { try resolvedOutputsRoot(outputs, environment: environment) }

    /// Where runtimes and downloads are kept: outside the repository, reused across runs.
    var cacheDirectory: String { Self.cacheDirectory(environment) }

    static func cacheDirectory(_ environment: [String: String]) -> String {
        if let c = environment["CELLBOOK_CACHE"] { return c }
        let base = environment["XDG_CACHE_HOME"] ?? "\(environment["HOME"] ?? NSTemporaryDirectory())/.cache"
        return "\(base)/cellbook"
    }

    var playbookPath: String {
        if FileManager.default.fileExists(atPath: playbook) { return playbook }
        for candidate in ["playbooks/\(playbook).yaml", "playbooks/\(playbook).yml", "playbooks/\(playbook)"]
        where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        return playbook
    }

    /// Parses and validates the playbook; `requireSecrets` is off for commands that only read state.
    func load(requireSecrets: Bool = true) throws -> RunConfiguration {
        try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: environment, requireSecrets: requireSecrets)
            .load(path: playbookPath, target: target, overrides: overrides)
    }
}

/// The outputs folder: --outputs, else $CELLBOOK_OUTPUTS, else ./outputs. Empty is an input
/// error (it would put state at the file-system root), and so is a path that is not a folder.
func resolvedOutputsRoot(_ outputs: String?, environment: [String: String]) throws -> String {
    let (root, origin) = outputs.map { ($0, "--outputs") } ?? environment["CELLBOOK_OUTPUTS"].map { ($0, "CELLBOOK_OUTPUTS") } ?? ("outputs", "")
    if root.trimmingCharacters(in: .whitespaces).isEmpty {
        throw EngineError.usage("\(origin) is empty: give the folder for cellbook's state, for example --outputs outputs")
    }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), !isFolder.boolValue {
        throw EngineError.environment("the outputs folder \(root) (from \(origin.isEmpty ? "the default" : origin)) is not a folder\n"
            + "    hint: give a folder cellbook may write, for example --outputs outputs")
    }
    return root
}

/// --session, else $CELLBOOK_SESSION (empty means none), checked against the session name rule.
func resolvedSession(_ flag: String?, environment: [String: String]) throws -> String? {
    let (value, origin) = flag.map { ($0, "--session") } ?? (environment["CELLBOOK_SESSION"].map { ($0, "CELLBOOK_SESSION") } ?? ("", ""))
    if value.isEmpty { return nil }
    if let problem = WorkshopSession.problem(value) {
        throw EngineError.usage("\(problem) (from \(origin))\n    hint: e.g. --session alice or --session team-3")
    }
    return value
}

func printJSON<T: Encodable>(_ value: T) throws {
    let data = try JSONEncoder.pretty.encode(value)
    try? FileHandle.standardOutput.write(contentsOf: data + Data("\n".utf8))
}

import CellbookKinds
import ServingKit
