import Foundation
import PlaybookModel
import SystemKit

/// What a cell's declared dependencies (`depends_on`) look like now: a SHA-256 per file the
/// patterns match and per environment variable. Part of the cell's cache key, and kept in its
/// record so that `show` and `--dry-run` can say which file or variable changed.
public struct DependencySnapshot: Codable, Sendable, Equatable {
    /// Per pattern as written, the files it matches now (paths as the pattern spells them,
    /// folders expanded to the files under them) and each one's SHA-256. A pattern that
    /// matches nothing maps to an empty object: a file that appears is a change too.
    public var files: [String: [String: String]]
    /// Per variable, the SHA-256 of its value, or "unset".
    public var env: [String: String]

    public init(files: [String: [String: String]] = [:], env: [String: String] = [:]) {
        self.files = files
        self.env = env
    }

    /// Reads every file the patterns match (relative ones from `directory`) and the variables.
    public static func take(_ deps: CellDependencies, environment: [String: String],
                            directory: String = FileManager.default.currentDirectoryPath) -> DependencySnapshot {
        var snapshot = DependencySnapshot()
        for pattern in deps.files {
            var digests: [String: String] = [:]
            for path in matches(pattern, in: directory) {
                let full = path.hasPrefix("/") ? path : "\(directory)/\(path)"
                do {
                    digests[path] = try SHA256Digest.hex(fileAt: full)
                } catch {
                    // Still a fingerprint: the cell re-runs once the file can be read.
                    digests[path] = "unreadable"
                }
            }
            snapshot.files[pattern] = digests
        }
        for name in deps.env {
            snapshot.env[name] = environment[name].map { SHA256Digest.hex($0) } ?? "unset"
        }
        return snapshot
    }

    /// The files `pattern` names: the path itself, or what the glob matches; folders are
    /// replaced by every regular file under them. Sorted; relative when the pattern is.
    static func matches(_ pattern: String, in directory: String) -> [String] {
        let absolute = pattern.hasPrefix("/")
        let prefix = absolute ? "" : directory.hasSuffix("/") ? directory : directory + "/"
        var found: [String] = []
        if pattern.contains(where: { "*?[".contains($0) }) {
            var g = glob_t()
            defer { globfree(&g) }
            if glob(prefix + pattern, 0, nil, &g) == 0 {
                for i in 0..<Int(g.gl_pathc) {
                    guard let p = g.gl_pathv[i] else { continue }
                    found.append(String(String(cString: p).dropFirst(prefix.count)))
                }
            }
        } else {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: prefix + pattern, isDirectory: &isFolder) { found.append(pattern) }
        }
        var files: [String] = []
        for path in found {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: prefix + path, isDirectory: &isFolder) else { continue }
            guard isFolder.boolValue else {
                files.append(path)
                continue
            }
            let base = path.hasSuffix("/") ? String(path.dropLast()) : path
            let walker = FileManager.default.enumerator(atPath: prefix + path)
            while let rel = walker?.nextObject() as? String {
                var sub: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(prefix)\(base)/\(rel)", isDirectory: &sub), !sub.boolValue {
                    files.append("\(base)/\(rel)")
                }
            }
        }
        return files.sorted()
    }

    /// What differs from `old`, in words: "input.txt changed", "data/c.csv added", "LANG changed".
    public func changes(since old: DependencySnapshot) -> [String] {
        var out: [String] = []
        for pattern in files.keys.sorted() {
            let now = files[pattern] ?? [:]
            guard let before = old.files[pattern] else {
                out.append("\(pattern) newly declared")
                continue
            }
            for path in Set(now.keys).union(before.keys).sorted() {
                switch (before[path], now[path]) {
                case (nil, _?): out.append("\(path) added")
                case (_?, nil): out.append("\(path) removed")
                case (let b?, let n?) where b != n: out.append("\(path) changed")
                default: break
                }
            }
        }
        for name in env.keys.sorted() where old.env[name] != env[name] {
            out.append(old.env[name] == nil ? "\(name) newly declared" : "environment variable \(name) changed")
        }
        return out
    }

    /// The snapshot as a value for the cache key.
    var keyMaterial: Value {
        .object([
            "files": .object(files.mapValues { .object($0.mapValues(Value.string)) }),
            "env": .object(env.mapValues(Value.string)),
        ])
    }
}
