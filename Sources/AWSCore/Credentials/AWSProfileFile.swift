import Foundation

/// An AWS shared config or credentials file: INI sections of `key = value` lines.
/// Follows the AWS CLI: lines starting with "#" or ";" are comments, keys are case-insensitive,
/// values are trimmed and kept literally; an indented line continues the previous value (nested
/// settings such as `s3 =` sub-keys), and a repeated section adds to the earlier one.
struct AWSProfileFile: Equatable {
    /// Section name (whitespace-normalized, e.g. "profile dev") → lowercased key → value.
    var sections: [String: [String: String]]

    /// A profile's section in the config file: [profile NAME], or [default] (also spelled [profile default]).
    func configProfile(_ name: String) -> [String: String]? {
        if name == "default" { return sections["default"] ?? sections["profile default"] }
        return sections["profile \(name)"]
    }

    /// Nil when the file does not exist.
    static func load(path: String) throws -> AWSProfileFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AWSConfigError.unreadableFile(path: path, reason: "it exists but cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw AWSConfigError.unreadableFile(path: path, reason: "it is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> AWSProfileFile {
        var sections: [String: [String: String]] = [:]
        var section: String?
        var lastKey: String?
        // "\r\n" is one Character in Swift, so split on both.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let lineNumber = index + 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            func malformed(_ reason: String) -> AWSConfigError {
                .malformedFile(path: path, line: lineNumber, reason: reason)
            }

            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else {
                    throw malformed("section header \(trimmed) has no closing \"]\"")
                }
                let after = trimmed[trimmed.index(after: close)...].trimmingCharacters(in: .whitespaces)
                guard after.isEmpty || after.hasPrefix("#") || after.hasPrefix(";") else {
                    throw malformed("unexpected text \"\(after)\" after the section header")
                }
                let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
                    .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
                guard !name.isEmpty else { throw malformed("empty section name \"[]\"") }
                section = name
                lastKey = nil
                if sections[name] == nil { sections[name] = [:] }
                continue
            }

            if line.first == " " || line.first == "\t", let current = section, let key = lastKey {
                // Continuation of the previous value (nested settings); kept, unused by cellbook.
                let previous = sections[current]?[key] ?? ""
                sections[current]?[key] = previous.isEmpty ? trimmed : previous + "\n" + trimmed
                continue
            }

            guard let current = section else {
                throw malformed("\"\(trimmed)\" comes before any [section] header; put it under [default] or [profile NAME]")
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw malformed("expected \"key = value\" or a [section] header, found \"\(trimmed)\"")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            guard !key.isEmpty else { throw malformed("a value with no key before \"=\"") }
            sections[current]?[key] = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            lastKey = key
        }
        return AWSProfileFile(sections: sections)
    }
}
