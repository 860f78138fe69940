import Foundation
import SystemKit

/// The `cellbook` binary the CLI tests drive: `$CELLBOOK_BIN`, else the debug build.
let cellbookBinary: String = ProcessInfo.processInfo.environment["CELLBOOK_BIN"]
    ?? repositoryRoot.appendingPathComponent(".build/debug/cellbook").path

/// A `cellbook` process whose output is collected as it comes, to be waited for or killed.
final class CellbookProcess: @unchecked Sendable {
    let process = Process()
    private let output = Locked(Data())
    private let drained = Locked(false)

    init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: cellbookBinary)
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let collected = output, drained = drained
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                drained.withLock { $0 = true }
            } else {
                collected.withLock { $0.append(data) }
            }
        }
        try process.run()
    }

    var text: String { String(decoding: output.current, as: UTF8.self) }

    /// Waits until the output contains `marker` (or `seconds` pass); true when it did.
    func waitFor(_ marker: String, seconds: Double = 60) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if text.contains(marker) { return true }
            if !process.isRunning { return text.contains(marker) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the exit and for the last of the output.
    func wait() -> Int32 {
        process.waitUntilExit()
        for _ in 0..<200 where !drained.current { usleep(10_000) }
        return process.terminationStatus
    }
}

/// Runs `cellbook` to the end: exit status and everything it printed.
func cellbook(_ arguments: [String], environment: [String: String]) async throws -> (Int32, String) {
    let p = try CellbookProcess(arguments, environment: environment)
    let status = await Task.detached { p.wait() }.value
    return (status, p.text)
}
