import CellbookJSON
/// Replaces secret values with `[secret:NAME]` in anything about to be stored or shown.
///
/// A secret is masked as written and in the forms a program commonly prints it in: escaped
/// inside a JSON string (Python's `json.dumps`, with or without `ensure_ascii`, `\/` for a
/// slash, upper- or lower-case hex) and URL-encoded (percent-encoding as Python's `quote`,
/// `quote_plus` and JavaScript's `encodeURIComponent` write it). A value the command
/// transforms further (base64, a hash, split across lines) cannot be recognised.
public struct Redactor: Sendable {
    private let pairs: [(value: String, name: String)]

    public init(secrets: [String: String]) {
        // Shorter values are refused by validation before a run; masking them would garble output.
        var forms: [String: String] = [:]
        for (name, value) in secrets.sorted(by: { $0.key < $1.key }) where value.count >= RunConfiguration.minimumSecretLength {
            for form in Self.encodedForms(of: value) where forms[form] == nil { forms[form] = name }
        }
        // Longest first, so a secret containing another is replaced whole.
        pairs = forms.map { (value: $0.key, name: $0.value) }
            .sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.value < $1.value }
    }

    public var isEmpty: Bool { pairs.isEmpty }

    /// Length of the longest form of a secret, in characters.
    public var longest: Int { pairs.first?.value.count ?? 0 }

    /// Whether a secret holds a line break (then a secret may continue past the end of a line).
    public var spansLines: Bool { pairs.contains { $0.value.contains(where: \.isNewline) } }

    public func redact(_ text: String) -> String {
        guard !pairs.isEmpty else { return text }
        var out = text
        for p in pairs where out.contains(p.value) {
            out = out.replacingOccurrences(of: p.value, with: "[secret:\(p.name)]")
        }
        return out
    }

    public func redact(_ value: PlaybookModel.Value) -> PlaybookModel.Value {
        guard !pairs.isEmpty else { return value }
        switch value {
        case .string(let s): return .string(redact(s))
        case .array(let a): return .array(a.map(redact))
        case .object(let o): return .object(o.mapValues(redact))
        default: return value
        }
    }

    /// The secret as written, JSON-escaped and URL-encoded, without repeats.
    static func encodedForms(of secret: String) -> [String] {
        var forms: [String] = [secret]
        func add(_ s: String) { if !forms.contains(s) { forms.append(s) } }
        for asciiOnly in [true, false] {
            for upper in [false, true] {
                let escaped = jsonEscaped(secret, asciiOnly: asciiOnly, uppercaseHex: upper)
                add(escaped)
                add(escaped.replacingOccurrences(of: "/", with: "\\/"))
            }
        }
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let javascript = unreserved.union("!*'()".utf8)
        for upper in [true, false] {
            add(percentEncoded(secret, keep: unreserved, uppercaseHex: upper))
            add(percentEncoded(secret, keep: unreserved.union("/".utf8), uppercaseHex: upper))
            add(percentEncoded(secret, keep: javascript, uppercaseHex: upper))
            add(percentEncoded(secret, keep: unreserved, uppercaseHex: upper, spaceAsPlus: true))
        }
        return forms
    }

    /// The text between the quotes of a JSON string holding `s` (CellbookJSON's writer).
    static func jsonEscaped(_ s: String, asciiOnly: Bool, uppercaseHex: Bool) -> String {
        JSONValue.escaped(s, asciiOnly: asciiOnly, uppercaseHex: uppercaseHex)
    }

    static func percentEncoded(_ s: String, keep: Set<UInt8>, uppercaseHex: Bool, spaceAsPlus: Bool = false) -> String {
        var out = ""
        for byte in s.utf8 {
            if keep.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else if spaceAsPlus && byte == 0x20 {
                out += "+"
            } else {
                let digits = String(byte, radix: 16, uppercase: uppercaseHex)
                out += "%" + (digits.count == 1 ? "0" : "") + digits
            }
        }
        return out
    }
}

import PlaybookModel
