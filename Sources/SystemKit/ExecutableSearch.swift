import Foundation

/// Finds programs the way posix_spawnp and the shell do, in one place.
public enum ExecutableSearch {
    /// `name` itself when it has a slash, else the first executable file of that name on
    /// `path` (default: our PATH); nil when there is none. An empty PATH entry means ".".
    public static func find(_ name: String, path: String? = nil) -> String? {
        if name.contains("/") { return isExecutable(name) ? name : nil }
        let search = path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in search.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// An executable regular file (not a directory).
    public static func isExecutable(_ path: String) -> Bool {
        var info = stat()
        return access(path, X_OK) == 0 && stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFDIR
    }
}
