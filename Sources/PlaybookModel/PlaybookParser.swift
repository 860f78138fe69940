import Foundation
import Yams

/// Turns playbook YAML into a `Playbook`, collecting every structural problem with its position.
public struct PlaybookParser {
    public let file: String
    private var diagnostics: [Diagnostic] = []

    private init(file: String) { self.file = file }

    /// Parses `text`. Returns the playbook (possibly partial) and every problem found.
    public static func parse(_ text: String, file: String) -> (Playbook?, [Diagnostic]) {
        var parser = PlaybookParser(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            return (nil, [parser.syntaxDiagnostic(error)])
        }
        guard let root else {
            return (nil, [Diagnostic(SourceLocation(file: file, line: 1, column: 1), "the playbook is empty",
                                     hint: "a playbook needs at least `name` and `cells`")])
        }
        let playbook = parser.playbook(root)
        return (playbook, parser.diagnostics)
    }

    /// Reads and parses a file, reporting a missing or unreadable file as a diagnostic.
    public static func load(path: String) -> (Playbook?, [Diagnostic]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return (nil, [Diagnostic(.commandLine("playbook"), "cannot read playbook file '\(path)'",
                                     hint: "check the path; playbooks live under playbooks/")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return (nil, [Diagnostic(SourceLocation(file: path, line: 1, column: 1), "the file is not UTF-8 text")])
        }
        return parse(text, file: path)
    }

    // MARK: - Syntax errors

    private func syntaxDiagnostic(_ error: Error) -> Diagnostic {
        func loc(_ m: Mark) -> SourceLocation { SourceLocation(file: file, line: m.line, column: m.column) }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let ctx = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return Diagnostic(loc(mark), "YAML syntax error: \(problem)\(ctx)",
                              hint: "check indentation and quoting around this position")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return Diagnostic(loc(context.mark), "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping",
                              hint: "each key may appear once; remove or rename the repeat")
        case .reader(let problem, _, _, _):
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "YAML read error: \(problem)")
        default:
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "YAML error: \(error)")
        }
    }

    // MARK: - Helpers

    private func location(_ node: Node) -> SourceLocation {
        let m = node.mark
        return SourceLocation(file: file, line: m?.line ?? 0, column: m?.column ?? 0)
    }

    private mutating func error(_ node: Node, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(location(node), message, hint: hint))
    }

    /// The pairs of a mapping, reporting keys that are not in `allowed`.
    private mutating func mapping(_ node: Node, what: String, allowed: [String]?) -> [(String, Node, Node)]? {
        guard case .mapping(let m) = node else {
            error(node, "\(what) must be a mapping (key: value), found \(describe(node))")
            return nil
        }
        var pairs: [(String, Node, Node)] = []
        for (k, v) in m {
            guard let key = k.scalar?.string else {
                error(k, "keys in \(what) must be plain text")
                continue
            }
            if let allowed, !allowed.contains(key) {
                error(k, "unknown key '\(key)' in \(what)", hint: suggestion(key, allowed))
                continue
            }
            pairs.append((key, k, v))
        }
        return pairs
    }

    private mutating func string(_ node: Node, what: String) -> String? {
        if case .scalar(let s) = node, node.tag.rawValue != Tag.Name.null.rawValue || s.style != .plain {
            return s.string
        }
        error(node, "\(what) must be text, found \(describe(node))")
        return nil
    }

    private func describe(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar: node.null != nil ? "nothing (null)" : "'\(node.scalar?.string ?? "")'"
        }
    }

    /// Converts any YAML node to a Value; quoted scalars stay strings.
    func value(_ node: Node, path: String, locations: inout [String: SourceLocation]) -> Value {
        locations[path] = location(node)
        switch node {
        case .scalar(let s):
            if s.style != .plain { return .string(s.string) }
            if node.null != nil { return .null }
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .int(i) }
            if let d = node.float { return .double(d) }
            return .string(s.string)
        case .sequence(let seq):
            return .array(seq.enumerated().map { value($0.element, path: "\(path)[\($0.offset)]", locations: &locations) })
        case .mapping(let m):
            var out: [String: Value] = [:]
            for (k, v) in m {
                let key = k.scalar?.string ?? ""
                out[key] = value(v, path: path.isEmpty ? key : "\(path).\(key)", locations: &locations)
            }
            return .object(out)
        case .alias:
            return .null
        }
    }

    // MARK: - Sections

    static let topKeys = ["name", "title", "source", "description", "params", "secrets", "targets", "default_target", "cells"]
    static let paramKeys = ["type", "default", "description"]
    static let secretKeys = ["env", "description", "targets"]
    static let targetKeys = ["description", "settings"]
    static let cellKeys = ["id", "kind", "title", "markdown", "with", "outputs"]

    private mutating func playbook(_ root: Node) -> Playbook? {
        guard let pairs = mapping(root, what: "the playbook", allowed: Self.topKeys) else { return nil }
        var pb = Playbook(file: file, name: "", title: "", source: nil, description: nil, params: [], secrets: [],
                          targets: [], defaultTarget: nil, defaultTargetLocation: nil, cells: [])
        var sawName = false, sawCells = false
        for (key, _, v) in pairs {
            switch key {
            case "name":
                sawName = true
                if let s = string(v, what: "name") {
                    if let problem = FolderName.problem(s, what: "name") {
                        error(v, problem, hint: "the name becomes the folder under outputs/")
                    }
                    pb.name = s
                }
            case "title": pb.title = string(v, what: "title") ?? ""
            case "source": pb.source = string(v, what: "source")
            case "description": pb.description = string(v, what: "description")
            case "default_target":
                pb.defaultTarget = string(v, what: "default_target")
                pb.defaultTargetLocation = location(v)
            case "params": pb.params = params(v)
            case "secrets": pb.secrets = secrets(v)
            case "targets": pb.targets = targets(v)
            case "cells":
                sawCells = true
                pb.cells = cells(v)
            default: break
            }
        }
        let top = SourceLocation(file: file, line: 1, column: 1)
        if !sawName { diagnostics.append(Diagnostic(top, "the playbook has no 'name'", hint: "add `name: my-playbook` at the top")) }
        if !sawCells { diagnostics.append(Diagnostic(top, "the playbook has no 'cells'", hint: "add a `cells:` list")) }
        if pb.title.isEmpty { pb.title = pb.name }
        return pb
    }

    private mutating func params(_ node: Node) -> [ParamSpec] {
        guard let pairs = mapping(node, what: "params", allowed: nil) else { return [] }
        var out: [ParamSpec] = []
        for (name, keyNode, v) in pairs {
            var spec = ParamSpec(name: name, type: .string, defaultValue: nil, description: nil, location: location(keyNode))
            var declaredType: ValueType?
            if case .mapping = v, let fields = mapping(v, what: "param '\(name)'", allowed: Self.paramKeys) {
                var locs: [String: SourceLocation] = [:]
                for (k, _, fv) in fields {
                    switch k {
                    case "type":
                        if let t = string(fv, what: "type") {
                            if let vt = ValueType(rawValue: t) { declaredType = vt } else {
                                error(fv, "unknown type '\(t)' for param '\(name)'",
                                      hint: "use one of: \(ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
                            }
                        }
                    case "default":
                        spec.defaultValue = value(fv, path: "", locations: &locs)
                        spec.location = location(fv)
                    case "description": spec.description = string(fv, what: "description")
                    default: break
                    }
                }
            } else {
                // Shorthand `name: value`: the type follows the value.
                var locs: [String: SourceLocation] = [:]
                spec.defaultValue = value(v, path: "", locations: &locs)
                spec.location = location(v)
            }
            spec.type = declaredType ?? spec.defaultValue.map(Self.inferType) ?? .string
            if let d = spec.defaultValue, d != .null, !spec.type.accepts(d) {
                diagnostics.append(Diagnostic(spec.location, "param '\(name)' is declared \(spec.type.rawValue) but its default is \(d.typeName)",
                                              hint: "change the default or the type"))
            }
            out.append(spec)
        }
        return out
    }

    static func inferType(_ v: Value) -> ValueType {
        switch v {
        case .string, .null: .string
        case .int: .int
        case .double: .number
        case .bool: .bool
        case .array: .list
        case .object: .object
        }
    }

    private mutating func secrets(_ node: Node) -> [SecretSpec] {
        var out: [SecretSpec] = []
        switch node {
        case .sequence(let seq):
            // Shorthand: a list of names.
            for item in seq {
                if let name = string(item, what: "a secret name") {
                    out.append(SecretSpec(name: name, env: name, description: nil, targets: nil, location: location(item)))
                }
            }
        default:
            guard let pairs = mapping(node, what: "secrets", allowed: nil) else { return [] }
            for (name, keyNode, v) in pairs {
                var spec = SecretSpec(name: name, env: name, description: nil, targets: nil, location: location(keyNode))
                if case .mapping = v, let fields = mapping(v, what: "secret '\(name)'", allowed: Self.secretKeys) {
                    for (k, _, fv) in fields {
                        switch k {
                        case "env": spec.env = string(fv, what: "env") ?? name
                        case "description": spec.description = string(fv, what: "description")
                        case "targets":
                            if case .sequence(let seq) = fv {
                                spec.targets = seq.compactMap { string($0, what: "a target name") }
                            } else {
                                error(fv, "targets of secret '\(name)' must be a list of target names")
                            }
                        default: break
                        }
                    }
                } else if v.null == nil {
                    spec.description = string(v, what: "secret '\(name)'")
                }
                out.append(spec)
            }
        }
        return out
    }

    private mutating func targets(_ node: Node) -> [TargetSpec] {
        guard let pairs = mapping(node, what: "targets", allowed: nil) else { return [] }
        var out: [TargetSpec] = []
        for (name, keyNode, v) in pairs {
            if let problem = FolderName.problem(name, what: "target name") {
                error(keyNode, problem, hint: "the target name becomes a folder under outputs/<playbook>/")
            }
            var spec = TargetSpec(name: name, description: nil, settings: [:], location: location(keyNode), settingLocations: [:])
            if v.null == nil, let fields = mapping(v, what: "target '\(name)'", allowed: Self.targetKeys) {
                for (k, _, fv) in fields {
                    switch k {
                    case "description": spec.description = string(fv, what: "description")
                    case "settings":
                        var locs: [String: SourceLocation] = [:]
                        if case .object(let o) = value(fv, path: "", locations: &locs) {
                            spec.settings = o
                            spec.settingLocations = locs
                        } else {
                            error(fv, "settings of target '\(name)' must be a mapping")
                        }
                    default: break
                    }
                }
            }
            out.append(spec)
        }
        return out
    }

    private mutating func cells(_ node: Node) -> [CellSpec] {
        guard case .sequence(let seq) = node else {
            error(node, "cells must be a list (each item starting with '- id:'), found \(describe(node))")
            return []
        }
        var out: [CellSpec] = []
        for item in seq {
            guard let fields = mapping(item, what: "a cell", allowed: Self.cellKeys) else { continue }
            var cell = CellSpec(id: "", kind: "", title: "", markdown: nil, with: [:], outputs: [],
                                location: location(item), kindLocation: location(item), withLocations: [:])
            var sawID = false, sawKind = false
            for (k, _, v) in fields {
                switch k {
                case "id":
                    sawID = true
                    if let id = string(v, what: "id") {
                        if let problem = FolderName.problem(id, what: "cell id") {
                            error(v, problem, hint: "ids are used in references like {{ cells.ID.OUTPUT }} and name the cell's folder")
                        }
                        cell.id = id
                        cell.location = location(v)
                    }
                case "kind":
                    sawKind = true
                    cell.kind = string(v, what: "kind") ?? ""
                    cell.kindLocation = location(v)
                case "title": cell.title = string(v, what: "title") ?? ""
                case "markdown": cell.markdown = string(v, what: "markdown")
                case "with":
                    var locs: [String: SourceLocation] = [:]
                    if v.null != nil { break }
                    if case .object(let o) = value(v, path: "", locations: &locs) {
                        cell.with = o
                        cell.withLocations = locs
                    } else {
                        error(v, "'with' must be a mapping of input names to values")
                    }
                case "outputs":
                    cell.outputs = outputNames(v)
                default: break
                }
            }
            if !sawID { error(item, "a cell has no 'id'", hint: "add `id: some-name` to the cell") }
            if !sawKind { error(item, "cell '\(cell.id)' has no 'kind'", hint: "add `kind: shell` (or another kind)") }
            if cell.title.isEmpty { cell.title = cell.id }
            out.append(cell)
        }
        return out
    }

    private mutating func outputNames(_ node: Node) -> [String] {
        switch node {
        case .sequence(let seq):
            return seq.compactMap { string($0, what: "an output name") }
        case .mapping(let m):
            // `name: description` form.
            return m.compactMap { $0.key.scalar?.string }
        default:
            error(node, "outputs must be a list of names")
            return []
        }
    }
}

/// "did you mean" for a misspelt name.
public func suggestion(_ word: String, _ candidates: [String]) -> String {
    guard !candidates.isEmpty else { return "there is nothing of that kind declared to choose from" }
    let best = candidates.min { editDistance(word, $0) < editDistance(word, $1) }
    if let best, editDistance(word, best) <= max(2, word.count / 3) { return "did you mean '\(best)'?" }
    return "expected one of: \(candidates.joined(separator: ", "))"
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}
