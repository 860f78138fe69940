import SystemKit
import CellbookHTTP
import Foundation

/// A llama.cpp `llama-server` started as a child that outlives cellbook (its own session),
/// with its pid, port and log recorded so a later run can find, check and stop it.
public struct LlamaServer: Sendable {
    public struct Launch: Sendable {
        public var binary: String
        public var modelPath: String
        public var port: Int
        /// Concurrent sequences (llama-server's slots): continuous batching across them.
        public var slots: Int
        /// Tokens per slot: the local mirror of TGI's MAX_TOTAL_TOKENS.
        public var tokensPerSlot: Int
        public var logPath: String
        /// CPU threads for generation. llama.cpp's threads spin at barriers, so more threads than
        /// free cores collapses throughput (measured on 2 cores: 87 tokens/s with 1 thread but
        /// 1.3 with 2 while another process kept one core busy; idle, 2 threads made 113 against
        /// 70). The default takes the cores that are free now: all of them minus the load average.
        public var threads: Int

        public static var defaultThreads: Int {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))
                .flatMap { $0.split(separator: " ").first.flatMap { Double($0) } } ?? Double(cores) / 2
            return max(1, min(cores, cores - Int(load.rounded())))
        }

        public init(binary: String, modelPath: String, port: Int, slots: Int, tokensPerSlot: Int, logPath: String,
                    threads: Int = Launch.defaultThreads) {
            self.binary = binary
            self.modelPath = modelPath
            self.port = port
            self.slots = slots
            self.tokensPerSlot = tokensPerSlot
            self.logPath = logPath
            self.threads = threads
        }

        public var arguments: [String] {
            [binary, "--model", modelPath, "--host", "127.0.0.1", "--port", String(port),
             "--parallel", String(slots), "--ctx-size", String(slots * tokensPerSlot), "--threads", String(threads),
             "--no-webui", "--metrics"]
        }
    }

    public static func baseURL(port: Int) -> String { "http://127.0.0.1:\(port)" }

    /// Starts the server detached; returns its pid. Output is appended to `logPath`.
    ///
    /// The server is started through a shell that backgrounds it and exits, so it is not our
    /// child: it outlives cellbook like a container, and it never lingers as our zombie (a
    /// zombie child confuses anything in this process that waits for children, such as a test
    /// runner's exit-test monitor).
    public static func start(_ launch: Launch, environment: [String: String]) throws -> Int32 {
        if isPortOpen(launch.port) { throw RuntimeError.portInUse(launch.port) }
        try FileManager.default.createDirectory(atPath: (launch.logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let pidFile = launch.logPath + ".pid"
        try? FileManager.default.removeItem(atPath: pidFile)
        var env = environment
        env["CELLBOOK_SERVER_LOG"] = launch.logPath
        env["CELLBOOK_SERVER_PIDFILE"] = pidFile
        let script = #""$0" "$@" >> "$CELLBOOK_SERVER_LOG" 2>&1 < /dev/null & echo $! > "$CELLBOOK_SERVER_PIDFILE""#
        let shell = try ChildProcess.spawn(["/bin/sh", "-c", script] + launch.arguments, environment: env, detach: true)
        var status: Int32 = 0
        while waitpid(shell, &status, 0) < 0 && errno == EINTR {}
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else {
            throw RuntimeError.serverExited(status: "could not be started (no pid from the launching shell)",
                                            logTail: logTail(launch.logPath), log: launch.logPath)
        }
        try? FileManager.default.removeItem(atPath: pidFile)
        return pid
    }

    /// Waits until `/health` answers 200, the process exits (failure with the log tail) or the timeout passes.
    public static func waitUntilReady(pid: Int32, port: Int, timeout: Double, logPath: String, client: HTTPClient,
                                      progress: @Sendable (Double) -> Void) async throws {
        let started = Date()
        let url = "\(baseURL(port: port))/health"
        while true {
            try Task.checkCancellation()
            let elapsed = Date().timeIntervalSince(started)
            if !ChildProcess.isAlive(pid) {
                throw RuntimeError.serverExited(status: "pid \(pid) exited", logTail: logTail(logPath), log: logPath)
            }
            if let r = try? await client.send(HTTPRequest(url: url, timeout: .seconds(2), connectTimeout: .seconds(1))), r.status == 200 {
                return
            }
            if elapsed > timeout {
                throw RuntimeError.notReady(url: url, seconds: timeout, logTail: logTail(logPath), log: logPath)
            }
            progress(elapsed)
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Whether the server `pid` is alive and answers on `port`.
    public static func isServing(pid: Int32, port: Int, client: HTTPClient) async -> Bool {
        guard ChildProcess.isAlive(pid) else { return false }
        let r = try? await client.send(HTTPRequest(url: "\(baseURL(port: port))/health", timeout: .seconds(3), connectTimeout: .seconds(1)))
        return r?.status == 200
    }

    public struct StopReport: Sendable {
        public var wasRunning: Bool
        public var forced: Bool
        public var portClosed: Bool
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; then confirms the port is closed.
    public static func stop(pid: Int32, port: Int, grace: Double) async -> StopReport {
        guard pid > 0, ChildProcess.isAlive(pid), isOurServer(pid) else {
            return StopReport(wasRunning: false, forced: false, portClosed: !isPortOpen(port))
        }
        kill(pid, SIGTERM)
        var forced = false
        let deadline = Date().addingTimeInterval(grace)
        while ChildProcess.isAlive(pid) {
            if Date() > deadline {
                kill(pid, SIGKILL)
                forced = true
                try? await Task.sleep(for: .milliseconds(200))
                break
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        var closed = !isPortOpen(port)
        for _ in 0..<20 where !closed {
            try? await Task.sleep(for: .milliseconds(100))
            closed = !isPortOpen(port)
        }
        return StopReport(wasRunning: true, forced: forced, portClosed: closed)
    }

    /// Guards against signalling an unrelated process that reused the pid.
    public static func isOurServer(_ pid: Int32) -> Bool {
        guard let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return true }
        return String(decoding: cmd, as: UTF8.self).contains("llama-server")
    }

    public static func logTail(_ path: String, lines: Int = 15) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "    (no log at \(path))" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(lines).map { "    " + $0 }.joined(separator: "\n")
    }

    /// A free loopback port, chosen by the kernel.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts connections on 127.0.0.1:port.
    public static func isPortOpen(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return rc == 0
    }
}
