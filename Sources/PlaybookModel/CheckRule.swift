/// How `cellbook check` compares one output of a cell with its recorded value (a cell's
/// `check:` key: output name -> rule; `"*"` sets the rule for the outputs not named).
public enum CheckRule: Sendable, Equatable, CustomStringConvertible {
    /// Equal values (the default).
    case exact
    /// Numbers within `rel` (a fraction of the recorded value) or `abs` of the recorded value;
    /// either bound is enough when both are given.
    case tolerance(rel: Double?, abs: Double?)
    /// The same type, and for objects the same keys with values of the same shapes: for free
    /// text and timings.
    case shape
    /// Not compared.
    case ignore

    public static let names = ["exact", "shape", "ignore"]
    /// The key that sets the rule for every output not named.
    public static let otherOutputs = "*"

    public var description: String {
        switch self {
        case .exact: "exact"
        case .shape: "shape"
        case .ignore: "ignore"
        case .tolerance(let rel, let abs):
            [rel.map { "rel \($0)" }, abs.map { "abs \($0)" }].compactMap { $0 }.joined(separator: ", ")
        }
    }
}

/// A cell's check rules with where they were written.
public struct CellCheck: Sendable, Equatable {
    public var rules: [String: CheckRule]
    public var locations: [String: SourceLocation]

    public init(rules: [String: CheckRule] = [:], locations: [String: SourceLocation] = [:]) {
        self.rules = rules
        self.locations = locations
    }

    /// The rule for an output: its own, else `"*"`, else exact.
    public func rule(for output: String) -> CheckRule {
        rules[output] ?? rules[CheckRule.otherOutputs] ?? .exact
    }
}
