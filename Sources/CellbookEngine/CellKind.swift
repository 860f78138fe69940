import Foundation
import PlaybookModel

/// One kind of cell (shell, note, deploy, ...). Each kind is a type in its own file,
/// registered in one list (CellbookKinds/AllKinds.swift); the runner knows only this protocol.
public protocol CellKind: Sendable {
    /// Inputs, outputs and a one-line summary; validation uses it without running anything.
    static var schema: KindSchema { get }

    init()

    /// Does the cell's work and returns the outputs it publishes into session state.
    /// Throw `CellFailure` (or any error) to fail the cell; respond to task cancellation.
    func run(_ context: CellContext) async throws -> [String: Value]

    /// For kinds whose outputs stay valid only while something external is alive (a server,
    /// an endpoint): asked before a cached result is reused. Return nil when not applicable.
    func liveness(of outputs: [String: Value], context: CellContext) async -> Liveness?
}

extension CellKind {
    public func liveness(of outputs: [String: Value], context: CellContext) async -> Liveness? { nil }
}

public enum Liveness: Sendable, Equatable {
    case alive
    case gone(String)
}

/// A cell's failure with the message to show; `detail` (a log tail, say) is printed beneath.
public struct CellFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var detail: String?

    public init(_ message: String, detail: String? = nil) {
        self.message = message
        self.detail = detail
    }

    public var description: String {
        detail.map { "\(message)\n\($0)" } ?? message
    }
}

/// Everything a cell kind may use while running.
public struct CellContext: Sendable {
    public let cell: CellSpec
    public let index: Int
    public let playbook: Playbook
    public let target: TargetSpec
    /// Resolved inputs with real secret values: use them, never store them.
    public let inputs: [String: Value]
    /// The secrets in use, to pass to a child process environment.
    public let secretValues: [String: String]
    /// A folder of this cell's own under outputs/, for artifacts (reports, results).
    public let workDirectory: String
    /// The playbook target's state folder (outputs/<playbook>/<target>): for records that
    /// outlive one cell, such as what a deploy started.
    public let stateDirectory: String
    /// The outputs folder every playbook's state lies in (its resource ledger is there).
    public let outputsRoot: String
    /// The workshop session this run belongs to (`--session`), nil outside sessions.
    public let session: String?
    /// A cache folder outside the repository for large downloads and runtimes.
    public let cacheDirectory: String
    /// The outputs of the previous successful run of this cell, if any.
    public let previousOutputs: [String: Value]?
    /// Where the cell writes what the reader sees.
    public let console: CellConsole
    public let environment: [String: String]
    /// Where the cell's HTTP exchanges are recorded, when the run records.
    public var exchanges: ExchangeLog?

    public init(cell: CellSpec, index: Int, playbook: Playbook, target: TargetSpec, inputs: [String: Value],
                secretValues: [String: String], workDirectory: String, stateDirectory: String? = nil,
                outputsRoot: String? = nil, session: String? = nil, cacheDirectory: String,
                previousOutputs: [String: Value]?, console: CellConsole, environment: [String: String]) {
        self.stateDirectory = stateDirectory ?? workDirectory
        self.outputsRoot = outputsRoot ?? stateDirectory ?? workDirectory
        self.session = session
        self.cell = cell
        self.index = index
        self.playbook = playbook
        self.target = target
        self.inputs = inputs
        self.secretValues = secretValues
        self.workDirectory = workDirectory
        self.cacheDirectory = cacheDirectory
        self.previousOutputs = previousOutputs
        self.console = console
        self.environment = environment
    }

    // Typed access to inputs, with the cell's defaults.
    public func string(_ key: String) -> String? { inputs[key]?.stringValue ?? inputs[key].flatMap { $0.isNull ? nil : $0.interpolationText } }
    public func string(_ key: String, default d: String) -> String { string(key) ?? d }
    public func int(_ key: String) -> Int? { inputs[key]?.intValue ?? string(key).flatMap { Int($0) } }
    public func double(_ key: String) -> Double? { inputs[key]?.doubleValue ?? string(key).flatMap { Double($0) } }
    public func bool(_ key: String) -> Bool? {
        if let b = inputs[key]?.boolValue { return b }
        return string(key).map { ["true", "yes", "1", "on"].contains($0.lowercased()) }
    }
    public func setting(_ key: String) -> Value? { target.settings[key] }

    /// Fails with a clear message naming the cell and the missing input.
    public func require(_ key: String) throws -> String {
        guard let s = string(key), !s.isEmpty else {
            throw CellFailure("cell '\(cell.id)' needs input '\(key)'")
        }
        return s
    }
}
