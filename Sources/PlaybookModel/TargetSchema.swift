/// What a serving target (its `runtime`) reads from a playbook target's settings: enough for
/// validation to catch a wrong setting before anything runs.
public struct TargetSchema: Sendable {
    public struct Setting: Sendable {
        public var name: String
        public var type: ValueType
        public var description: String

        public init(_ name: String, _ type: ValueType, _ description: String) {
            self.name = name
            self.type = type
            self.description = description
        }
    }

    public var runtime: String
    public var summary: String
    public var settings: [Setting]
    /// Checks of the settings' values (a malformed role ARN, say); settings holding templates
    /// are left out. Needs nothing but the values.
    public var check: (@Sendable (_ settings: [String: Value]) -> [SchemaProblem])?
    /// Checks that need the environment (a region found somewhere, credentials present): run
    /// only for the target a run or `validate --target` chose.
    public var preflight: (@Sendable (_ settings: [String: Value], _ environment: [String: String]) -> [SchemaProblem])?

    public init(runtime: String, summary: String, settings: [Setting],
                check: (@Sendable ([String: Value]) -> [SchemaProblem])? = nil,
                preflight: (@Sendable ([String: Value], [String: String]) -> [SchemaProblem])? = nil) {
        self.runtime = runtime
        self.summary = summary
        self.settings = settings
        self.check = check
        self.preflight = preflight
    }

    public func setting(_ name: String) -> Setting? { settings.first { $0.name == name } }
}

/// A problem a schema check found: which setting or input (nil: the whole), what, what to do.
public struct SchemaProblem: Sendable, Equatable {
    public var key: String?
    public var message: String
    public var hint: String?

    public init(key: String?, _ message: String, hint: String? = nil) {
        self.key = key
        self.message = message
        self.hint = hint
    }
}
