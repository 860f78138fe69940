import SystemKit
import CellbookEngine
import Foundation
import PlaybookModel

/// Runs a shell command; captures stdout, stderr, exit code and duration, and publishes
/// declared outputs from a JSON object the command prints (its last JSON line).
public struct ShellCell: CellKind {
    public static let schema = KindSchema(
        name: "shell",
        summary: "Runs a shell command and publishes outputs from the JSON object it prints",
        inputs: [
            .init("command", .string, required: true, "the command, run with /bin/sh -c"),
            .init("env", .object, "extra environment variables; reference secrets here, not in the command"),
            .init("cwd", .string, "working directory (default: where cellbook runs)"),
            .init("timeout", .number, positive: true, "seconds before the command is stopped (default: none)"),
            .init("allow_failure", .bool, "publish a non-zero exit code instead of failing the cell"),
        ],
        outputs: ["stdout", "stderr", "exit_code"],
        acceptsDeclaredOutputs: true)

    /// Bytes of stdout and stderr kept in the published outputs (and so in state.json, which
    /// is rewritten after every cell); the cell's log.txt keeps everything.
    public static let keptOutputBytes = 64 * 1024

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let command = try context.require("command")
        let timeout = context.double("timeout")
        if let timeout, !(timeout > 0) {
            throw CellFailure("input 'timeout' of cell '\(context.cell.id)' must be more than 0 seconds, found \(Value.double(timeout).interpolationText)")
        }
        var env = context.environment
        for (k, v) in context.inputs["env"]?.objectValue ?? [:] { env[k] = v.interpolationText }
        let out = Locked(Data()), err = Locked(Data())
        let console = context.console
        let exit = try await ChildProcess.run(
            ["/bin/sh", "-c", command], environment: env, directory: context.string("cwd"),
            timeout: timeout,
            onStdout: { data in
                out.withLock { $0.append(data) }
                console.write(bytes: data)
            },
            onStderr: { data in
                err.withLock { $0.append(data) }
                console.write(bytes: data)
            })
        let stdout = String(decoding: out.current, as: UTF8.self), stderr = String(decoding: err.current, as: UTF8.self)
        if exit.status != 0 || exit.signal != nil || exit.timedOut {
            if !(context.bool("allow_failure") ?? false) || exit.timedOut {
                let tail = stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
                let what = exit.timedOut && timeout != nil
                    ? "timed out after \(Format.duration(timeout!)) (the cell's timeout: \(Value.double(timeout!).interpolationText) s)"
                    : exit.description
                throw CellFailure("command failed (\(what)): \(command)", detail: tail.isEmpty ? nil : "last lines of stderr:\n\(tail)")
            }
        }
        var outputs: [String: Value] = [
            "stdout": .string(Self.tail(stdout.trimmingCharacters(in: .whitespacesAndNewlines))),
            "stderr": .string(Self.tail(stderr.trimmingCharacters(in: .whitespacesAndNewlines))),
            "exit_code": .int(Int(exit.status)),
        ]
        if !context.cell.outputs.isEmpty {
            let object: [String: Value]
            switch Self.lastJSONObject(in: stdout) {
            case .found(let o):
                object = o
            case .malformed(let line, let reason, let text):
                throw CellFailure("cell '\(context.cell.id)' declares outputs \(context.cell.outputs.joined(separator: ", ")) but the JSON its command printed on line \(line) of stdout is malformed: \(reason)",
                                  detail: "that line: \(text.count > 200 ? String(text.prefix(200)) + "…" : text)")
            case .none:
                throw CellFailure("cell '\(context.cell.id)' declares outputs \(context.cell.outputs.joined(separator: ", ")) but its command printed no JSON object",
                                  detail: "print one line such as {\"\(context.cell.outputs[0])\": ...} as the last JSON line of stdout")
            }
            for name in context.cell.outputs { if let v = object[name] { outputs[name] = v } }
        }
        return outputs
    }

    /// `text`, or its last `keptOutputBytes` (from a line start where there is one) with a note
    /// of what was left out.
    static func tail(_ text: String) -> String {
        let bytes = text.utf8
        guard bytes.count > keptOutputBytes else { return text }
        var start = bytes.index(bytes.endIndex, offsetBy: -keptOutputBytes)
        while start < bytes.endIndex, UTF8.isContinuation(bytes[start]) { start = bytes.index(after: start) }
        var kept = text[start...]
        if let newline = kept.firstIndex(of: "\n"), kept.distance(from: kept.startIndex, to: newline) < 4096 {
            kept = kept[kept.index(after: newline)...]
        }
        let dropped = bytes.count - kept.utf8.count
        return "[… \(dropped) bytes before this are not kept in state; the cell's log.txt has the whole output]\n" + kept
    }

    enum JSONLine: Equatable {
        case found([String: Value])
        /// The last line that looks like a JSON object (starts with '{') does not parse.
        case malformed(line: Int, reason: String, text: String)
        case none
    }

    /// The last line of `text` that parses as a JSON object, or the whole text if it is one.
    /// When none parses, the last line that looked like one and why it is not.
    static func lastJSONObject(in text: String) -> JSONLine {
        func parse(_ s: Substring) -> [String: Value]? {
            let t = s.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("{"), let v = try? JSONDecoder().decode(Value.self, from: Data(t.utf8)) else { return nil }
            return v.objectValue
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var malformed: JSONLine?
        for (i, line) in lines.enumerated().reversed() {
            if let o = parse(line) { return .found(o) }
            let t = line.trimmingCharacters(in: .whitespaces)
            if malformed == nil, t.hasPrefix("{") {
                malformed = .malformed(line: i + 1, reason: Self.jsonProblem(t), text: t)
            }
        }
        if let o = parse(Substring(text)) { return .found(o) }
        return malformed ?? .none
    }

    /// Why `text` is not a JSON object, in the parser's words ("… around line 1, column 12").
    static func jsonProblem(_ text: String) -> String {
        do {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            return object is [String: Any] ? "not an object of plain values" : "not an object"
        } catch {
            let ns = error as NSError
            let detail = (ns.userInfo["NSDebugDescription"] as? String) ?? ns.localizedDescription
            let trimmed = detail.trimmingCharacters(in: CharacterSet(charactersIn: ". "))
            return trimmed.prefix(1).lowercased() + trimmed.dropFirst()
        }
    }
}
