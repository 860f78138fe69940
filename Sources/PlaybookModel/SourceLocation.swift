/// Where something is in a playbook file: what every diagnostic points at.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// For problems that come from the command line rather than a file.
    public static func commandLine(_ what: String) -> SourceLocation {
        SourceLocation(file: "<command line: \(what)>", line: 0, column: 0)
    }

    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// One problem found in a playbook, with its position and what to do about it.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable { case error, warning }

    public var location: SourceLocation
    public var severity: Severity
    public var message: String
    public var hint: String?

    public init(_ location: SourceLocation, _ message: String, hint: String? = nil, severity: Severity = .error) {
        self.location = location
        self.message = message
        self.hint = hint
        self.severity = severity
    }

    public var description: String {
        var s = "\(location): \(severity.rawValue): \(message)"
        if let hint { s += "\n    hint: \(hint)" }
        return s
    }
}

/// Thrown when a playbook cannot be used; carries every problem found, not just the first
/// (up to `listLimit` of them listed, the rest counted in `omitted`).
public struct PlaybookError: Error, Sendable, CustomStringConvertible {
    /// Problems listed at most: enough to fix a file by, few enough to read.
    public static let listLimit = 100

    public var diagnostics: [Diagnostic]
    /// Problems found beyond `listLimit`, counted but not listed.
    public var omitted: Int

    public init(_ diagnostics: [Diagnostic], omitted: Int = 0) {
        self.diagnostics = Array(diagnostics.prefix(Self.listLimit))
        self.omitted = omitted + max(0, diagnostics.count - Self.listLimit)
    }

    public var description: String {
        let errors = diagnostics.filter { $0.severity == .error }.count + omitted
        var text = diagnostics.map(\.description).joined(separator: "\n")
        if omitted > 0 { text += "\n... and \(omitted) more problem\(omitted == 1 ? "" : "s") not listed (the first \(diagnostics.count) are shown)" }
        return text + "\n\(errors) problem\(errors == 1 ? "" : "s") found; nothing was run or written."
    }
}
