/// What a cell kind accepts and publishes: enough for validation without running anything.
public struct KindSchema: Sendable {
    public struct Input: Sendable {
        public var name: String
        public var type: ValueType
        public var required: Bool
        public var description: String
        /// A number that must be more than 0 (a timeout, a count).
        public var mustBePositive: Bool

        public init(_ name: String, _ type: ValueType, required: Bool = false, positive: Bool = false, _ description: String) {
            self.name = name
            self.type = type
            self.required = required
            self.mustBePositive = positive
            self.description = description
        }
    }

    public var name: String
    public var summary: String
    public var inputs: [Input]
    /// Outputs every cell of this kind publishes.
    public var outputs: [String]
    /// Whether a cell may declare extra outputs under `outputs:` (e.g. shell parses them from JSON).
    public var acceptsDeclaredOutputs: Bool
    /// Narrative-only kinds (note) print their markdown and no cell header.
    public var isNarrative: Bool
    /// Outputs stay valid only while something external lives (a server, an endpoint).
    public var hasLiveResource: Bool
    /// Ends the live resources of the upstream cells it reads (cleanup): on success the runner
    /// marks those cells' records as released, so state no longer claims they are up.
    public var releasesUpstream: Bool
    /// Checks of the inputs' values that would otherwise fail only at run time (an endpoint
    /// name SageMaker refuses, a benchmark setting out of range). Validation passes the inputs
    /// it can resolve without running anything (literals, params, target settings).
    public var check: (@Sendable (_ inputs: [String: Value]) -> [SchemaProblem])?

    public init(name: String, summary: String, inputs: [Input], outputs: [String], acceptsDeclaredOutputs: Bool = false,
                isNarrative: Bool = false, hasLiveResource: Bool = false, releasesUpstream: Bool = false,
                check: (@Sendable ([String: Value]) -> [SchemaProblem])? = nil) {
        self.check = check
        self.name = name
        self.summary = summary
        self.inputs = inputs
        self.outputs = outputs
        self.acceptsDeclaredOutputs = acceptsDeclaredOutputs
        self.isNarrative = isNarrative
        self.hasLiveResource = hasLiveResource
        self.releasesUpstream = releasesUpstream
    }

    public func input(_ name: String) -> Input? { inputs.first { $0.name == name } }
}
