import CellbookJSON
import PlaybookModel

extension JSONValue {
    /// Bridges a playbook value into JSON for request bodies and records. A playbook object has
    /// no key order, so its keys are sorted: equal values give equal bytes.
    public init(_ v: PlaybookModel.Value) {
        switch v {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map { JSONValue($0) })
        case .object(let o):
            var obj = JSONObject()
            for (k, v) in o.sorted(by: { $0.key < $1.key }) { obj[k] = JSONValue(v) }
            self = .object(obj)
        }
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
}

extension PlaybookModel.Value {
    /// Bridges JSON (a target's record, a parsed response) into a playbook value.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map { Value(json: $0) })
        case .object(let o):
            var dict: [String: Value] = [:]
            for m in o.members { dict[m.key] = Value(json: m.value) }
            self = .object(dict)
        }
    }

    public var json: JSONValue { JSONValue(self) }
}
