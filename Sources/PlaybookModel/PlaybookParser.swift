import Foundation
import Yams

/// Turns playbook YAML into a `Playbook`, collecting every structural problem with its position.
public struct PlaybookParser {
    public let file: String
    private var diagnostics: [Diagnostic] = []
    /// Problems found beyond `PlaybookError.listLimit`: counted, not kept.
    private var omitted = 0
    /// Values and mapping entries the YAML may expand to, aliases included (see `spend`).
    private var budget: Int
    private let valueLimit: Int
    private var overBudget = false

    /// Values a playbook may hold after alias expansion, whatever its size: far above any real
    /// playbook, far below what nested aliases can make ("billion laughs": nine levels of ten
    /// make 10^9 values from a few hundred bytes).
    public static let minimumValueBudget = 100_000

    private init(file: String, textBytes: Int) {
        self.file = file
        // Without aliases a value takes at least a byte or two of text, so a budget of one value
        // per byte never stops a playbook that does not use aliases to multiply itself.
        valueLimit = max(Self.minimumValueBudget, textBytes)
        budget = valueLimit
    }

    /// What parsing found: the playbook (possibly partial), the first `PlaybookError.listLimit`
    /// problems, and how many more there were.
    public struct Result: Sendable {
        public var playbook: Playbook?
        public var diagnostics: [Diagnostic]
        public var omitted: Int
    }

    /// Parses `text`. Returns the playbook (possibly partial) and the problems found (the
    /// first `PlaybookError.listLimit` of them; `parseCounting` also says how many more).
    public static func parse(_ text: String, file: String) -> (Playbook?, [Diagnostic]) {
        let r = parseCounting(text, file: file)
        return (r.playbook, r.diagnostics)
    }

    public static func parseCounting(_ text: String, file: String) -> Result {
        var parser = PlaybookParser(file: file, textBytes: text.utf8.count)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            return Result(playbook: nil, diagnostics: [parser.syntaxDiagnostic(error, text: text)], omitted: 0)
        }
        guard let root else {
            return Result(playbook: nil, diagnostics: [Diagnostic(SourceLocation(file: file, line: 1, column: 1), "the playbook is empty",
                                                                  hint: "a playbook needs at least `name` and `cells`")], omitted: 0)
        }
        let playbook = parser.playbook(root)
        return Result(playbook: playbook, diagnostics: parser.diagnostics, omitted: parser.omitted)
    }

    /// Reads and parses a file, reporting a missing or unreadable file as a diagnostic.
    public static func load(path: String) -> (Playbook?, [Diagnostic]) {
        let r = loadCounting(path: path)
        return (r.playbook, r.diagnostics)
    }

    public static func loadCounting(path: String) -> Result {
        guard let data = FileManager.default.contents(atPath: path) else {
            return Result(playbook: nil, diagnostics: [Diagnostic(.commandLine("playbook"), "cannot read playbook file '\(path)'",
                                                                  hint: "check the path; playbooks live under playbooks/")], omitted: 0)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return Result(playbook: nil, diagnostics: [Self.notUTF8(data, file: path)], omitted: 0)
        }
        return parseCounting(text, file: path)
    }

    /// Where the first byte that is not UTF-8 sits, as line and column (columns count characters).
    static func notUTF8(_ data: Data, file: String) -> Diagnostic {
        let bytes = [UInt8](data)
        var valid = bytes.count
        // Decode prefixes until one fails: the first invalid byte follows the longest valid prefix.
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += UTF8.width(scalar)
            case .emptyInput:
                break decoding
            case .error:
                valid = offset
                break decoding
            }
        }
        let before = String(decoding: bytes[..<valid], as: UTF8.self)
        let lines = before.split(separator: "\n", omittingEmptySubsequences: false)
        let line = lines.count, column = (lines.last?.count ?? 0) + 1
        let byte = valid < bytes.count ? String(format: "0x%02X", bytes[valid]) : "?"
        return Diagnostic(SourceLocation(file: file, line: line, column: column),
                          "the file is not UTF-8 text: byte \(byte) at offset \(valid) is not valid UTF-8",
                          hint: "save the playbook as UTF-8")
    }

    // MARK: - Syntax errors

    private func syntaxDiagnostic(_ error: Error, text: String) -> Diagnostic {
        func loc(_ m: Mark) -> SourceLocation { SourceLocation(file: file, line: m.line, column: m.column) }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let ctx = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            // libyaml says "found character that cannot start any token" for a tab it meets
            // where indentation belongs: say what the character is.
            if problem.contains("tab") || Self.character(in: text, line: mark.line, column: mark.column) == "\t" {
                return Diagnostic(loc(mark), "YAML syntax error: a tab character in indentation",
                                  hint: "YAML indents with spaces only; replace the tab with spaces")
            }
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

    /// The character at a 1-based line and column of `text`, if there is one.
    static func character(in text: String, line: Int, column: Int) -> Character? {
        guard line >= 1, column >= 1 else { return nil }
        var current = 1
        var lineStart = text.startIndex
        while current < line {
            guard let nl = text[lineStart...].firstIndex(of: "\n") else { return nil }
            lineStart = text.index(after: nl)
            current += 1
        }
        let lineText = text[lineStart...].prefix { $0 != "\n" }
        guard let i = lineText.index(lineText.startIndex, offsetBy: column - 1, limitedBy: lineText.endIndex), i < lineText.endIndex else { return nil }
        return lineText[i]
    }

    // MARK: - Helpers

    private func location(_ node: Node) -> SourceLocation {
        let m = node.mark
        return SourceLocation(file: file, line: m?.line ?? 0, column: m?.column ?? 0)
    }

    private mutating func error(_ node: Node, _ message: String, hint: String? = nil) {
        report(Diagnostic(location(node), message, hint: hint))
    }

    /// Keeps the first problems and counts the rest, so a huge broken file costs no more than a small one.
    private mutating func report(_ d: Diagnostic) {
        if diagnostics.count < PlaybookError.listLimit { diagnostics.append(d) } else { omitted += 1 }
    }

    /// Takes one value or mapping entry from the budget; false (reported once) when it is spent.
    private mutating func spend(_ node: Node) -> Bool {
        budget -= 1
        if budget >= 0 { return true }
        if !overBudget {
            overBudget = true
            error(node, "YAML aliases expand the playbook to more than \(valueLimit) values; stopped expanding here",
                  hint: "aliases nested inside aliases multiply; write the values out or nest fewer aliases")
        }
        return false
    }

    /// The pairs of a mapping, reporting keys that are not in `allowed`.
    private mutating func mapping(_ node: Node, what: String, allowed: [String]?) -> [(String, Node, Node)]? {
        guard case .mapping(let m) = node else {
            error(node, "\(what) must be a mapping (key: value), found \(describe(node))")
            return nil
        }
        var pairs: [(String, Node, Node)] = []
        for (k, v) in m {
            guard spend(v) else { break }
            guard let key = k.scalar?.string else {
                error(k, "keys in \(what) must be plain text")
                continue
            }
            if let allowed, !allowed.contains(key) {
                if diagnostics.count < PlaybookError.listLimit {
                    error(k, "unknown key '\(key)' in \(what)", hint: suggestion(key, allowed))
                } else {
                    omitted += 1  // not worth a suggestion nobody will see
                }
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
    mutating func value(_ node: Node, path: String, locations: inout [String: SourceLocation]) -> Value {
        guard spend(node) else { return .null }
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
            var out: [Value] = []
            for (i, element) in seq.enumerated() {
                out.append(value(element, path: "\(path)[\(i)]", locations: &locations))
                if overBudget { break }
            }
            return .array(out)
        case .mapping(let m):
            var out: [String: Value] = [:]
            for (k, v) in m {
                let key = k.scalar?.string ?? ""
                out[key] = value(v, path: path.isEmpty ? key : "\(path).\(key)", locations: &locations)
                if overBudget { break }
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
    static let cellKeys = ["id", "kind", "title", "markdown", "with", "outputs", "depends_on", "check"]
    static let dependencyKeys = ["files", "env"]

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
        if !sawName { report(Diagnostic(top, "the playbook has no 'name'", hint: "add `name: my-playbook` at the top")) }
        if !sawCells { report(Diagnostic(top, "the playbook has no 'cells'", hint: "add a `cells:` list")) }
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
                report(Diagnostic(spec.location, "param '\(name)' is declared \(spec.type.rawValue) but its default is \(d.typeName)",
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
                case "depends_on":
                    cell.dependsOn = dependencies(v, cell: cell.id)
                case "check":
                    cell.check = checkRules(v, cell: cell.id)
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

    /// `check: {output: exact | shape | ignore | {rel: x, abs: y}}`.
    private mutating func checkRules(_ node: Node, cell: String) -> CellCheck {
        var check = CellCheck()
        guard let fields = mapping(node, what: "check", allowed: nil) else { return check }
        for (name, key, v) in fields {
            switch v {
            case .scalar:
                guard let word = v.scalar?.string else { continue }
                switch word {
                case "exact": check.rules[name] = .exact
                case "shape": check.rules[name] = .shape
                case "ignore": check.rules[name] = .ignore
                default:
                    error(v, "unknown check rule '\(word)' for output '\(name)' of cell '\(cell)'",
                          hint: "use exact, shape, ignore or {rel: 0.1} / {abs: 0.5}" + (CheckRule.names.contains { $0.lowercased() == word.lowercased() } ? "" : "; \(suggestion(word, CheckRule.names))"))
                    continue
                }
            case .mapping:
                guard let bounds = mapping(v, what: "the check rule of '\(name)'", allowed: ["rel", "abs"]) else { continue }
                var rel: Double?, abs: Double?
                for (bound, _, b) in bounds {
                    guard let x = b.scalar.flatMap({ Double($0.string) }), x >= 0, x.isFinite else {
                        error(b, "check.\(name).\(bound) of cell '\(cell)' must be a number of at least 0")
                        continue
                    }
                    if bound == "rel" { rel = x } else { abs = x }
                }
                guard rel != nil || abs != nil else {
                    error(v, "the check rule of '\(name)' in cell '\(cell)' needs rel or abs", hint: "e.g. {rel: 0.1} for 10%")
                    continue
                }
                check.rules[name] = .tolerance(rel: rel, abs: abs)
            default:
                error(v, "the check rule of '\(name)' in cell '\(cell)' must be exact, shape, ignore or {rel: .., abs: ..}")
                continue
            }
            check.locations[name] = location(key)
        }
        return check
    }

    /// `depends_on: {files: [...], env: [...]}`; either list may be a single string.
    private mutating func dependencies(_ node: Node, cell: String) -> CellDependencies {
        var deps = CellDependencies(location: location(node))
        guard let fields = mapping(node, what: "depends_on", allowed: Self.dependencyKeys) else { return deps }
        for (key, _, v) in fields {
            let items: [Node]
            switch v {
            case .sequence(let seq): items = Array(seq)
            case .scalar: items = [v]
            default:
                error(v, "depends_on.\(key) must be a list of \(key == "files" ? "paths or patterns" : "variable names")")
                continue
            }
            for item in items {
                guard let text = string(item, what: key == "files" ? "a file path or pattern" : "an environment variable name") else { continue }
                if key == "files" {
                    if text.trimmingCharacters(in: .whitespaces).isEmpty {
                        error(item, "an empty path in depends_on.files of cell '\(cell)'")
                    } else {
                        deps.files.append(text)
                    }
                } else {
                    if text.isEmpty || text.contains("=") || text.contains(where: \.isWhitespace) {
                        error(item, "'\(text)' is not an environment variable name (depends_on.env of cell '\(cell)')")
                    } else {
                        deps.env.append(text)
                    }
                }
            }
        }
        return deps
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
