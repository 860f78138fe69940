import CellbookHTTP
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The Python server in `sse_server.py`, started once per test process on a
/// free loopback port. It exits by itself when this process ends (its stdin
/// closes) or after ten minutes.
final class TestServer: Sendable {
    let port: Int
    private let process: Process
    private let stdin: Pipe

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func url(_ path: String) -> String { baseURL + path }

    /// The shared server; every test that needs one calls this.
    static func shared() throws -> TestServer {
        try sharedServer.get()
    }

    fileprivate init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("sse_server.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "0"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()

        // The server prints "PORT <n>" once it listens.
        var output = Data()
        while !output.contains(UInt8(ascii: "\n")) {
            let data = stdout.fileHandleForReading.availableData
            if data.isEmpty { break }
            output.append(data)
        }
        let line = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            process.terminate()
            throw TestServerError(message: "sse_server.py did not start (it printed \"\(line)\"); is python3 installed?")
        }
        self.port = port
        self.process = process
        self.stdin = stdin
    }

    /// Stats the server keeps for an /endless stream.
    func endlessStats(id: String, client: HTTPClient) async throws -> (sent: Int, disconnected: Bool) {
        let response = try await client.send(.init(url: url("/stats?id=\(id)")))
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
        return (object["sent"] as? Int ?? 0, object["disconnected"] as? Bool ?? false)
    }
}

private let sharedServer = Result { try TestServer() }

struct TestServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A loopback port that nothing listens on: bound, then closed again.
func unusedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
