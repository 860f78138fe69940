import CellbookJSON
import Foundation

/// The repository root, found from this file's location.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // Support
    .deletingLastPathComponent()  // SageMakerServingTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

struct FakeDidNotStart: Error, CustomStringConvertible {
    var description: String
}

/// A server from Tests/Fakes/ run as a subprocess: it prints one JSON line when ready and exits
/// when its standard input closes, so a test process that dies never leaves one behind.
final class FakeServerProcess: @unchecked Sendable {
    let process = Process()
    private let stdin = Pipe()
    let info: JSONObject

    init(script: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/Fakes/\(script)").path] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        var buffer = Data()
        let handle = stdout.fileHandleForReading
        while !buffer.contains(UInt8(ascii: "\n")) {
            let piece = handle.availableData
            if piece.isEmpty { break }
            buffer.append(piece)
        }
        guard case .object(let object)? = try? JSONValue.parse(bytes: [UInt8](buffer)) else {
            process.terminate()
            let err = String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self)
            throw FakeDidNotStart(description: "\(script) did not start: \(String(decoding: buffer, as: UTF8.self)) \(err)")
        }
        info = object
    }

    func string(_ key: String) -> String { info[key]?.stringValue ?? "" }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// moto with signature checking on, one per test process (it starts in about a second).
final class Moto: @unchecked Sendable {
    static let shared: Result<Moto, Error> = Result { try Moto() }
    let server: FakeServerProcess
    var endpoint: String { server.string("endpoint") }
    var accessKeyID: String { server.string("access_key_id") }
    var secretAccessKey: String { server.string("secret_access_key") }

    private init() throws {
        server = try FakeServerProcess(script: "moto_server.py", arguments: [])
    }
}

/// The fake SageMaker (control plane and runtime with response streams), verifying signatures
/// made with moto's key, with a scenario.
func startFakeSageMaker(scenario: String? = nil, accessKeyID: String, secretAccessKey: String) throws -> FakeServerProcess {
    var arguments = ["--access-key-id", accessKeyID, "--secret-access-key", secretAccessKey]
    if let scenario {
        let path = NSTemporaryDirectory() + "fake-sagemaker-\(UUID().uuidString).json"
        try scenario.write(toFile: path, atomically: true, encoding: .utf8)
        arguments += ["--scenario", path]
    }
    return try FakeServerProcess(script: "fake_sagemaker.py", arguments: arguments)
}

/// Runs a command; returns its exit status and what it printed.
func runCommand(_ arguments: [String], environment: [String: String]? = nil) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Fetches a JSON document from a fake's control route (`/_fake/log`, `/_fake/state`).
func fakeJSON(_ fake: FakeServerProcess, _ path: String) throws -> JSONValue {
    let (status, text) = try runCommand(["python3", "-c", "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())",
                                         fake.string("endpoint") + path])
    guard status == 0 else { throw FakeDidNotStart(description: "curl \(path) failed: \(text)") }
    return try JSONValue.parse(bytes: Array(text.utf8))
}

func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "cellbook-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
