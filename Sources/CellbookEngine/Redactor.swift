/// Replaces secret values with `[secret:NAME]` in anything about to be stored or shown.
public struct Redactor: Sendable {
    private let pairs: [(value: String, name: String)]

    public init(secrets: [String: String]) {
        // Longest first, so a secret containing another is replaced whole.
        // Shorter values are refused by validation before a run; masking them would garble output.
        pairs = secrets.filter { $0.value.count >= RunConfiguration.minimumSecretLength }
            .map { (value: $0.value, name: $0.key) }
            .sorted { $0.value.count > $1.value.count }
    }

    public var isEmpty: Bool { pairs.isEmpty }

    /// Length of the longest secret, in characters.
    public var longest: Int { pairs.first?.value.count ?? 0 }

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
}

import PlaybookModel
import Foundation
