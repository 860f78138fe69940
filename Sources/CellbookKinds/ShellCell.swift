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
            .init("timeout", .number, "seconds before the command is stopped (default: none)"),
            .init("allow_failure", .bool, "publish a non-zero exit code instead of failing the cell"),
        ],
        outputs: ["stdout", "stderr", "exit_code"],
        acceptsDeclaredOutputs: true)

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let command = try context.require("command")
        var env = context.environment
        for (k, v) in context.inputs["env"]?.objectValue ?? [:] { env[k] = v.interpolationText }
        let collected = OutputCollector()
        let console = context.console
        let exit = try await ChildProcess.run(
            ["/bin/sh", "-c", command], environment: env, directory: context.string("cwd"),
            timeout: context.double("timeout"),
            onStdout: { data in
                collected.appendOut(data)
                console.write(bytes: data)
            },
            onStderr: { data in
                collected.appendErr(data)
                console.write(bytes: data)
            })
        let stdout = collected.stdout, stderr = collected.stderr
        if exit.status != 0 || exit.signal != nil || exit.timedOut {
            if !(context.bool("allow_failure") ?? false) || exit.timedOut {
                let tail = stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
                throw CellFailure("command failed (\(exit.description)): \(command)", detail: tail.isEmpty ? nil : "last lines of stderr:\n\(tail)")
            }
        }
        var outputs: [String: Value] = [
            "stdout": .string(stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
            "stderr": .string(stderr.trimmingCharacters(in: .whitespacesAndNewlines)),
            "exit_code": .int(Int(exit.status)),
        ]
        if !context.cell.outputs.isEmpty {
            guard let object = Self.lastJSONObject(in: stdout) else {
                throw CellFailure("cell '\(context.cell.id)' declares outputs \(context.cell.outputs.joined(separator: ", ")) but its command printed no JSON object",
                                  detail: "print one line such as {\"\(context.cell.outputs[0])\": ...} as the last JSON line of stdout")
            }
            for name in context.cell.outputs { if let v = object[name] { outputs[name] = v } }
        }
        return outputs
    }

    /// The last line of `text` that parses as a JSON object, or the whole text if it is one.
    static func lastJSONObject(in text: String) -> [String: Value]? {
        func parse(_ s: Substring) -> [String: Value]? {
            let t = s.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("{"), let v = try? JSONDecoder().decode(Value.self, from: Data(t.utf8)) else { return nil }
            return v.objectValue
        }
        for line in text.split(separator: "\n").reversed() {
            if let o = parse(line) { return o }
        }
        return parse(Substring(text))
    }
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data(), err = Data()
    func appendOut(_ d: Data) { lock.lock(); out.append(d); lock.unlock() }
    func appendErr(_ d: Data) { lock.lock(); err.append(d); lock.unlock() }
    var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }
}
