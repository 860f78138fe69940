@testable import CellbookEngine
import SystemKit
import Foundation
import Testing

@Suite("Child processes", .timeLimit(.minutes(1)))
struct ChildProcessTests {
    private func run(_ argv: [String], directory: String? = nil) async throws -> (exit: ChildProcess.Exit, output: String) {
        let output = Locked(Data())
        let exit = try await ChildProcess.run(argv, environment: ProcessInfo.processInfo.environment, directory: directory,
                                              onStdout: { chunk in output.withLock { $0.append(chunk) } },
                                              onStderr: { chunk in output.withLock { $0.append(chunk) } })
        return (exit, String(decoding: output.current, as: UTF8.self))
    }

    @Test("a program that does not exist is an error naming it, not a shell's exit 127")
    func missingProgram() async {
        await #expect {
            _ = try await run(["cellbook-no-such-program", "--flag"])
        } throws: { error in
            "\(error)".contains("cannot start cellbook-no-such-program")
        }
    }

    @Test("programs are found on PATH and get their arguments and output as before")
    func pathLookup() async throws {
        let result = try await run(["printf", "%s|%s", "a b", "c"])
        #expect(result.exit.status == 0)
        #expect(result.output == "a b|c")
    }

    @Test("a working directory that does not exist fails the command; cellbook carries on (no SIGPIPE)")
    func missingDirectory() async throws {
        let result = try await run(["/bin/sh", "-c", "echo never"], directory: "/nonexistent/cellbook-test")
        #expect(result.exit.status != 0)
        #expect(!result.output.contains("never"))
        // Reaching here means the watchdog's closed socket did not kill this process.
        let after = try await run(["/bin/sh", "-c", "echo still here"])
        #expect(after.output == "still here\n")
    }

    @Test("a command that waits for all its children is not held up by the watchdog")
    func waitsForAllChildren() async throws {
        // Python's os.wait() returns any child; with none left it raises ChildProcessError at once.
        let script = "import os\ntry:\n    os.wait()\nexcept ChildProcessError:\n    print('no children')\n"
        let result = try await run(["python3", "-c", script])
        #expect(result.output == "no children\n", "the watchdog must not be a child of the command: \(result.output)")
    }
}
