import Foundation
import PlaybookModel
import Testing

/// A PATH of links to everything in /usr/bin and /usr/local/bin but C/C++ compilers.
private func pathWithoutCompiler(in root: String) -> String {
    let folder = root + "/no-compiler-bin"
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let compiler = #"^(cc|c\+\+|gcc|g\+\+|cpp|c89|c99|clang.*|(gcc|g\+\+|cpp)-[0-9.]+|x86_64-linux-gnu-.*|aarch64-linux-gnu-.*)$"#
    for dir in ["/usr/local/bin", "/usr/bin"] {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name.range(of: compiler, options: .regularExpression) == nil && !FileManager.default.fileExists(atPath: "\(folder)/\(name)") {
            try? FileManager.default.createSymbolicLink(atPath: "\(folder)/\(name)", withDestinationPath: "\(dir)/\(name)")
        }
    }
    return folder
}

/// The live runtime's cache, if this machine has one installed.
private let installedRuntimeCache: String? = {
    let cache = (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/cellbook"
    return FileManager.default.fileExists(atPath: cache + "/runtimes/llama-server-11434.0.0/runtime.json") ? cache : nil
}()

@Suite("cellbook doctor")
struct DoctorCommandTests {
    func checks(_ result: CLIResult) throws -> [String: String] {
        let report = try result.json()
        var statuses: [String: String] = [:]
        for check in report["checks"]?.arrayValue ?? [] {
            if let name = check["check"]?.stringValue { statuses[name] = check["status"]?.stringValue }
        }
        return statuses
    }

    @Test("local, with the runtime installed here: exit 0, the runtime row ok",
          .enabled(if: installedRuntimeCache != nil, "needs the local runtime installed (make runtime)"))
    func localReady() async throws {
        let box = try Sandbox()
        let result = try await box.cellbook(["doctor", "--target", "local", "--format", "json"], environment: ["CELLBOOK_CACHE": installedRuntimeCache!],
                                            withOutputs: false)
        #expect(result.code == 0, "\(result)")
        let c = try checks(result)
        #expect(c["runtime"] == "ok")
        #expect(c["model file"] == "ok")
        #expect(c["package index"] == "skipped")
        #expect(try result.json()["ready"] == true)
    }

    @Test("local, runtime not installed and no compiler on PATH: the compiler is missing, exit 1; the text says what to install")
    func localNoCompiler() async throws {
        let box = try Sandbox()
        let env = ["PATH": pathWithoutCompiler(in: box.root), "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_CONFIG_FILE": "/dev/null"]
        let json = try await box.cellbook(["doctor", "--target", "local", "--format", "json"], environment: env, withOutputs: false)
        #expect(json.code == 1, "\(json)")
        let c = try checks(json)
        #expect(c["C/C++ compiler"] == "missing")
        #expect(c["runtime"] == "warn")
        #expect(c["package index"] == "missing")
        let text = try await box.cellbook(["doctor", "--target", "local"], environment: env, withOutputs: false)
        #expect(text.code == 1)
        #expect(text.stdout.contains("build-essential"), "\(text)")
        #expect(text.stdout.contains("Not ready: C/C++ compiler, package index missing"), "\(text)")
    }

    @Test("sagemaker with no credentials: exit 1, every place looked is listed")
    func sagemakerNoCredentials() async throws {
        let box = try Sandbox()
        let env = ["HOME": box.root, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": ""]
        let result = try await box.cellbook(["doctor", "--target", "sagemaker"], environment: env, withOutputs: false)
        #expect(result.code == 1, "\(result)")
        #expect(result.stdout.contains("No AWS credentials found. Looked in:"), "\(result)")
        #expect(result.stdout.contains("\(box.root)/.aws/credentials"), "\(result)")
        #expect(result.stdout.contains("Service Quotas"))
    }

    @Test("an unknown runtime is a usage error (exit 2)")
    func unknownRuntime() async throws {
        let box = try Sandbox()
        let result = try await box.cellbook(["doctor", "--target", "nowhere", "--format", "json"], withOutputs: false)
        #expect(result.code == 2, "\(result)")
        #expect(try result.json()["error"]?.stringValue?.contains("no target runtime 'nowhere'") == true)
    }
}
