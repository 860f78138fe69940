import AWSCore
import AWSServices
import CellbookHTTP
import CellbookJSON
import Foundation

// Shared by the AWS test targets: the Python servers of Tests/Fakes (moto with signature
// checking on, the fake SageMaker) started as child processes, and small helpers around them.

/// The Python that runs the fakes: `CELLBOOK_TEST_PYTHON` (the Makefile points it at a venv
/// with moto and botocore), else `python3` on PATH.
public let testPython: String = ProcessInfo.processInfo.environment["CELLBOOK_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"

/// A Python server from Tests/Fakes, started as a child process. It prints one JSON line when
/// ready and exits when its stdin closes, so it goes away with the test process however that ends.
public final class FakeServerProcess: Sendable {
    public let info: JSONValue
    private let process: Process
    private let stdin: Pipe

    public init(script: String, arguments: [String] = []) throws {
        let path = try Self.fakesDirectory() + "/" + script
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [testPython, path] + arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()

        var output = Data()
        while !output.contains(UInt8(ascii: "\n")) {
            let data = stdout.fileHandleForReading.availableData
            if data.isEmpty { break }
            output.append(data)
        }
        let line = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let info = try? JSONValue.parse(line), info["endpoint"]?.stringValue != nil else {
            process.terminate()
            throw FakeServerError(message: "\(script) did not start (it printed \"\(line)\"; see its stderr above). "
                + "Is moto installed? `make test` installs it; by hand: \(testPython) -m pip install 'moto[server]==5.2.1'")
        }
        self.info = info
        self.process = process
        self.stdin = stdin
    }

    public var endpoint: String { info["endpoint"]!.stringValue! }

    /// A string member of the line the server printed when ready.
    public func string(_ key: String) -> String { info[key]?.stringValue ?? "" }

    /// Closes the server's stdin, which makes it exit.
    public func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Tests/Fakes, found by walking up from this file to the folder that has it.
    public static func fakesDirectory() throws -> String {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            let candidate = url.appendingPathComponent("Tests/Fakes/moto_server.py").path
            if FileManager.default.fileExists(atPath: candidate) { return url.appendingPathComponent("Tests/Fakes").path }
            url.deleteLastPathComponent()
        }
        throw FakeServerError(message: "cannot find Tests/Fakes/moto_server.py above \(#filePath)")
    }
}

public struct FakeServerError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// moto with signature checking on, one per test process (it takes about a second to start).
/// Tests share it, so each uses names of its own.
public enum Moto {
    public static func server() throws -> FakeServerProcess { try shared.get() }
    private static let shared = Result { try FakeServerProcess(script: "moto_server.py") }

    public static func credentials(secret: String? = nil, keyID: String? = nil) throws -> AWSCredentials {
        let info = try server().info
        return AWSCredentials(accessKeyID: keyID ?? info["access_key_id"]!.stringValue!,
                              secretAccessKey: secret ?? info["secret_access_key"]!.stringValue!, source: "moto_server.py")
    }

    public static var account: String { get throws { try server().info["account"]!.stringValue! } }

    /// A session against moto; `retry` defaults to a single attempt so a failure shows at once.
    public static func session(region: String = "us-east-1", credentials: AWSCredentials? = nil,
                        retry: RetryPolicy = RetryPolicy(maxAttempts: 1)) throws -> AWSSession {
        let env = AWSConfigEnvironment(environment: ["AWS_ENDPOINT_URL": try server().endpoint], homeDirectory: "/nonexistent")
        return AWSSession(credentials: try credentials ?? self.credentials(), region: region, config: env,
                          http: HTTPClient(), retry: retry)
    }

    /// Queues InvokeEndpoint answers (moto hands them out in order, one per new request body).
    public static func queueInvocationResults(_ bodies: [String]) async throws {
        let results: [JSONValue] = bodies.map {
            ["Body": .string($0), "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""]
        }
        let payload: JSONValue = ["account_id": .string(try account), "region": "us-east-1", "results": .array(results)]
        let response = try await HTTPClient().send(HTTPRequest(
            method: "POST", url: try server().endpoint + "/moto-api/static/sagemaker/endpoint-results",
            headers: ["Content-Type": "application/json"], body: Array(payload.serialized().utf8)))
        guard response.isSuccess else { throw FakeServerError(message: "queueing results: HTTP \(response.status) \(response.bodyText)") }
    }
}

/// Tests/Fakes/fake_sagemaker.py, one per test (it starts in ~0.2 s), for what moto cannot do:
/// throttling, 503s, dropped connections, response streams.
public final class FakeSageMaker: Sendable {
    public static let keyID = "AKIDFAKESAGEMAKER"
    public static let secret = "fake-sagemaker-secret"
    public let server: FakeServerProcess

    public init(scenario: String? = nil) throws {
        var arguments = ["--access-key-id", Self.keyID, "--secret-access-key", Self.secret]
        if let scenario {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("aws-services-scenario-\(UUID().uuidString).json")
            try Data(scenario.utf8).write(to: file)
            arguments += ["--scenario", file.path]
        }
        server = try FakeServerProcess(script: "fake_sagemaker.py", arguments: arguments)
    }

    deinit { server.stop() }

    /// A session against the fake whose waits are recorded, not slept; jitter pinned to 1
    /// so the delays are the backoff ceilings (1 s, 2 s, 4 s ...).
    public func session(maxAttempts: Int = 3, notices: RetryNotices? = nil) -> AWSSession {
        let env = AWSConfigEnvironment(environment: ["AWS_ENDPOINT_URL": server.endpoint], homeDirectory: "/nonexistent")
        var onRetry: (@Sendable (String) -> Void)?
        if let notices { onRetry = { notices.add($0) } }
        let sleep: @Sendable (Duration) async throws -> Void = { notices?.slept($0) }
        return AWSSession(
            credentials: AWSCredentials(accessKeyID: Self.keyID, secretAccessKey: Self.secret, source: "test"),
            region: "us-east-1", config: env, http: HTTPClient(),
            retry: RetryPolicy(maxAttempts: maxAttempts, random: { 1 }), onRetry: onRetry, sleep: sleep)
    }

    /// The operations the fake received, in order, with what it answered.
    public func log() async throws -> [(op: String, status: String, fault: String?)] {
        let response = try await HTTPClient().send(HTTPRequest(url: server.endpoint + "/_fake/log"))
        guard case .array(let requests)? = try JSONValue.parse(bytes: response.body)["requests"] else { return [] }
        return requests.map { request in
            let status = request["status"].map { $0.intValue.map(String.init) ?? $0.stringValue ?? "?" } ?? "?"
            return (request["op"]?.stringValue ?? "?", status, request["fault"]?.stringValue)
        }
    }
}

/// Collects retry notices and waits from concurrent code.
public final class RetryNotices: @unchecked Sendable {
    public init() {}
    private let lock = NSLock()
    private var _messages: [String] = []
    private var _sleeps: [Duration] = []

    public func add(_ message: String) { lock.withLock { _messages.append(message) } }
    public func slept(_ duration: Duration) { lock.withLock { _sleeps.append(duration) } }
    public var messages: [String] { lock.withLock { _messages } }
    public var sleeps: [Duration] { lock.withLock { _sleeps } }
}

/// A lower-case name no other test uses (moto is shared and keeps every resource).
public func uniqueName(_ prefix: String) -> String {
    prefix + "-" + UUID().uuidString.prefix(8).lowercased()
}

/// Runs a command; returns its exit status and what it printed (stdout and stderr).
public func runCommand(_ arguments: [String], environment: [String: String]? = nil) throws -> (Int32, String) {
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

/// A JSON document from a fake's control route (`/_fake/log`, `/_fake/state`).
public func fakeJSON(_ fake: FakeServerProcess, _ path: String) async throws -> JSONValue {
    let response = try await HTTPClient().send(HTTPRequest(url: fake.endpoint + path))
    return try JSONValue.parse(bytes: response.body)
}

/// A new folder under the temporary directory.
public func temporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "cellbook-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
