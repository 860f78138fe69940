/// The one template syntax of playbooks: `{{ namespace.path }}` inside any string in `with`.
///
/// Namespaces: `params.NAME`, `target.SETTING`, `secrets.NAME`, `cells.CELL_ID.OUTPUT[.key...]`.
/// A string that is exactly one reference keeps the referenced value's type (a number stays a
/// number); a reference inside a longer string is interpolated as text.
///
/// `{{ REFERENCE | quote }}` interpolates the value as one word for a POSIX shell (in single
/// quotes, with any `'` written as `'\''`), for templates inside a shell cell's `command`.
public struct Reference: Sendable, Hashable, CustomStringConvertible {
    public enum Namespace: String, Sendable, CaseIterable { case params, target, secrets, cells }

    public var namespace: Namespace
    /// For `cells`: [cellID, output, nested keys...]; otherwise [name, nested keys...].
    public var path: [String]

    public init(namespace: Namespace, path: [String]) {
        self.namespace = namespace
        self.path = path
    }

    public var description: String { ([namespace.rawValue] + path).joined(separator: ".") }

    /// The cell this reference reads, for `cells.*` references.
    public var cellID: String? { namespace == .cells ? path.first : nil }
}

public struct TemplateString: Sendable, Hashable {
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case reference(Reference)
        /// `{{ REFERENCE | quote }}`: the value's text as one shell word.
        case shellQuoted(Reference)
    }

    public var segments: [Segment]

    public var references: [Reference] {
        segments.compactMap {
            switch $0 {
            case .reference(let r), .shellQuoted(let r): r
            case .literal: nil
            }
        }
    }

    /// Parses `text`; throws a message (no position: the caller knows where the string is).
    public init(parsing text: String) throws(TemplateSyntaxError) {
        var segments: [Segment] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.literal(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw TemplateSyntaxError(message: "'{{' without a closing '}}'")
            }
            let expr = rest[open.upperBound..<close.lowerBound].trimmingSpaces
            if let bar = expr.firstIndex(of: "|") {
                let filter = expr[expr.index(after: bar)...].trimmingSpaces
                guard filter == "quote" else {
                    throw TemplateSyntaxError(message: "unknown filter '\(filter)' in '{{ \(expr) }}': the one filter is '| quote' (a shell word)")
                }
                segments.append(.shellQuoted(try Self.parseReference(String(expr[..<bar].trimmingSpaces))))
            } else {
                segments.append(.reference(try Self.parseReference(String(expr))))
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.literal(String(rest))) }
        self.segments = segments
    }

    static func parseReference(_ expr: String) throws(TemplateSyntaxError) -> Reference {
        let parts = expr.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let head = parts.first, !expr.isEmpty else {
            throw TemplateSyntaxError(message: "empty reference '{{ }}'")
        }
        guard let ns = Reference.Namespace(rawValue: head) else {
            throw TemplateSyntaxError(
                message: "unknown reference '\(expr)': a reference starts with params., target., secrets. or cells.")
        }
        let path = Array(parts.dropFirst())
        let needed = ns == .cells ? 2 : 1
        if path.count < needed || path.contains(where: { $0.isEmpty || !$0.allSatisfy(Self.isNameCharacter) }) {
            let form = ns == .cells ? "cells.CELL_ID.OUTPUT" : "\(ns.rawValue).NAME"
            throw TemplateSyntaxError(message: "malformed reference '\(expr)': expected \(form)")
        }
        return Reference(namespace: ns, path: path)
    }

    /// `text` as one POSIX shell word: single quotes keep everything literal but `'` itself.
    public static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isLetter || c.isNumber || c == "_" || c == "-"
    }

    /// Resolves against `lookup`. A lone reference keeps its type; mixed text interpolates.
    public func resolve<E: Error>(_ lookup: (Reference) throws(E) -> Value) throws(E) -> Value {
        if segments.count == 1, case .reference(let r) = segments[0] { return try lookup(r) }
        var out = ""
        for segment in segments {
            switch segment {
            case .literal(let s): out += s
            case .reference(let r): out += try lookup(r).interpolationText
            case .shellQuoted(let r): out += Self.shellQuoted(try lookup(r).interpolationText)
            }
        }
        return .string(out)
    }
}

public struct TemplateSyntaxError: Error, Sendable, Hashable {
    public var message: String
}

extension Value {
    /// Every template reference in this value (strings at any depth).
    public func templateReferences() -> [Reference] {
        var refs: [Reference] = []
        walkStrings { s in
            if s.contains("{{"), let t = try? TemplateString(parsing: s) { refs += t.references }
        }
        return refs
    }

    func walkStrings(_ body: (String) -> Void) {
        switch self {
        case .string(let s): body(s)
        case .array(let a): a.forEach { $0.walkStrings(body) }
        case .object(let o): o.keys.sorted().forEach { o[$0]!.walkStrings(body) }
        default: break
        }
    }

    /// Replaces every template in this value using `lookup`.
    public func resolvingTemplates<E: Error>(_ lookup: (Reference) throws(E) -> Value) throws(E) -> Value {
        switch self {
        case .string(let s):
            guard s.contains("{{"), let t = try? TemplateString(parsing: s) else { return self }
            return try t.resolve(lookup)
        case .array(let a):
            var out: [Value] = []
            out.reserveCapacity(a.count)
            for v in a { out.append(try v.resolvingTemplates(lookup)) }
            return .array(out)
        case .object(let o):
            var out: [String: Value] = [:]
            for (k, v) in o { out[k] = try v.resolvingTemplates(lookup) }
            return .object(out)
        default:
            return self
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
