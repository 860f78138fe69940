@testable import ServingKit
import CellbookJSON
import Foundation
import CellbookHTTP
@testable import LoadBench

/// The repository root, found from this file's location.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // Support
    .deletingLastPathComponent()  // LoadBenchTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

enum TestSupportError: Error, CustomStringConvertible {
    case serverDidNotStart(String)
    var description: String {
        switch self {
        case .serverDidNotStart(let detail): return "fake TGI server did not start: \(detail)"
        }
    }
}

/// Runs blocking work (process waits, pipe reads) on a Dispatch thread, so it does not hold one
/// of the few cooperative threads other tests' tasks need.
func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// `scripts/bench/fake_tgi_server.py` run as a subprocess on a free loopback port.
/// Start with `FakeTGIServer.start(...)` and end with `await server.shutdown()`.
final class FakeTGIServer: @unchecked Sendable {
    let process: Process
    let port: Int
    let logPath: String

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var chatURL: String { baseURL + "/v1/chat/completions" }

    static func start(_ arguments: [String] = []) async throws -> FakeTGIServer {
        try await offCooperativePool { try FakeTGIServer(arguments) }
    }

    func shutdown() async {
        _ = try? await offCooperativePool { self.stop() }
    }

    private init(_ arguments: [String]) throws {
        let script = repositoryRoot.appendingPathComponent("scripts/bench/fake_tgi_server.py").path
        logPath = NSTemporaryDirectory() + "fake-tgi-\(UUID().uuidString).log"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--port", "0", "--log", logPath] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The server prints "LISTENING <port>" once bound.
        var buffer = Data()
        let handle = stdout.fileHandleForReading
        while !buffer.contains(UInt8(ascii: "\n")) {
            let piece = handle.availableData
            if piece.isEmpty { break }
            buffer.append(piece)
        }
        let line = String(decoding: buffer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("LISTENING "), let port = Int(line.dropFirst("LISTENING ".count)) else {
            process.terminate()
            throw TestSupportError.serverDidNotStart("first line was '\(line)'")
        }
        self.port = port
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            // The server unblocks SIGTERM itself; SIGKILL is the backstop if it is wedged.
            for _ in 0..<100 where process.isRunning { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    deinit { stop() }

    /// Lines of the server's write-time log, after it has flushed.
    func logLines() -> [String] {
        (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }
}

/// One shared HTTP client for the test process, as the cell wrapper will share one.
let sharedHTTPClient = HTTPClient()

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "loadbench-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a command and returns (exit status, stdout + stderr).
func runProcess(_ arguments: [String]) async throws -> (Int32, String) {
    try await offCooperativePool { try runProcessBlocking(arguments) }
}

func runProcessBlocking(_ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
