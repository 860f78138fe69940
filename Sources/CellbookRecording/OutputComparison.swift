import PlaybookModel

/// One output of one cell that does not match its recording under the cell's rule.
public struct OutputDrift: Sendable, Equatable, Codable, CustomStringConvertible {
    public var cell: String
    /// The output's name; nil for the cell as a whole (its status).
    public var output: String?
    public var rule: String
    public var recorded: Value?
    public var now: Value?
    public var why: String

    public init(cell: String, output: String?, rule: String, recorded: Value?, now: Value?, why: String) {
        self.cell = cell
        self.output = output
        self.rule = rule
        self.recorded = recorded
        self.now = now
        self.why = why
    }

    public var description: String {
        let name = output.map { "\($0) (\(rule))" } ?? "status"
        return "\(name): \(why)\n      recorded: \(Self.show(recorded))\n      now:      \(Self.show(now))"
    }

    static func show(_ v: Value?) -> String {
        guard let v else { return "(absent)" }
        let text: String
        switch v {
        case .string(let s): text = "\"\(s)\""
        case .null: text = "null"
        default: text = v.interpolationText
        }
        return text.count > 300 ? String(text.prefix(300)) + "…" : text.replacingOccurrences(of: "\n", with: "⏎")
    }
}

/// Compares a cell's outputs now with its recorded outputs by the cell's check rules.
public enum OutputComparison {
    public static func compare(cell: String, recorded: [String: Value], now: [String: Value], check: CellCheck) -> [OutputDrift] {
        var drifts: [OutputDrift] = []
        for name in Set(recorded.keys).union(now.keys).sorted() {
            let rule = check.rule(for: name)
            if rule == .ignore { continue }
            let r = recorded[name], n = now[name]
            func drift(_ why: String) { drifts.append(OutputDrift(cell: cell, output: name, rule: rule.description, recorded: r, now: n, why: why)) }
            guard let r else { drift("not in the recording"); continue }
            guard let n else { drift("missing now"); continue }
            switch rule {
            case .ignore: continue
            case .exact:
                if !same(r, n) { drift("differs") }
            case .shape:
                if let why = shapeDifference(r, n, path: name) { drift(why) }
            case .tolerance(let rel, let abs):
                guard let x = r.doubleValue, let y = n.doubleValue else {
                    if !same(r, n) { drift("not numbers, and they differ") }
                    continue
                }
                let d = Swift.abs(x - y)
                let withinAbs = abs.map { d <= $0 } ?? false
                let withinRel = rel.map { d <= $0 * Swift.abs(x) } ?? false
                if !(withinAbs || withinRel) {
                    let pct = x == 0 ? "" : String(format: " (%.1f%%)", d / Swift.abs(x) * 100)
                    drift("off by \(Value.double(d).interpolationText)\(pct), beyond the tolerance")
                }
            }
        }
        return drifts
    }

    /// Equal values, an int equal to a double counting as equal.
    static func same(_ a: Value, _ b: Value) -> Bool {
        if a == b { return true }
        if let x = a.doubleValue, let y = b.doubleValue, a.arrayValue == nil, b.arrayValue == nil {
            switch (a, b) {
            case (.int, .double), (.double, .int): return x == y
            default: return false
            }
        }
        return false
    }

    static func kind(_ v: Value) -> String {
        switch v {
        case .int, .double: "number"
        default: v.typeName
        }
    }

    /// Why two values differ in shape, or nil when they have the same one.
    static func shapeDifference(_ a: Value, _ b: Value, path: String) -> String? {
        guard kind(a) == kind(b) else { return "\(path) was \(kind(a)), now \(kind(b))" }
        if case .object(let x) = a, case .object(let y) = b {
            let gone = Set(x.keys).subtracting(y.keys).sorted(), added = Set(y.keys).subtracting(x.keys).sorted()
            if !gone.isEmpty { return "\(path) lost key\(gone.count == 1 ? "" : "s") \(gone.joined(separator: ", "))" }
            if !added.isEmpty { return "\(path) gained key\(added.count == 1 ? "" : "s") \(added.joined(separator: ", "))" }
            for k in x.keys.sorted() {
                if let why = shapeDifference(x[k]!, y[k]!, path: "\(path).\(k)") { return why }
            }
        }
        if case .string(let s) = a, case .string(let t) = b, s.isEmpty != t.isEmpty {
            return "\(path) was \(s.isEmpty ? "empty" : "text"), now \(t.isEmpty ? "empty" : "text")"
        }
        return nil
    }
}
