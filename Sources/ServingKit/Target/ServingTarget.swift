import CellbookHTTP
import Foundation
import PlaybookModel

/// Where the tutorial's model is served. Each target is a type in its own module's file, chosen
/// by the playbook target's `runtime` setting and registered in CellbookKinds/AllKinds.swift;
/// the tutorial's cell kinds (setup, deploy, chat, benchmark, cleanup) talk only to this protocol
/// and turn its typed results into cell outputs in one place (`ServingOutputs`).
public protocol ServingTarget: Sendable {
    /// The value of the target setting `runtime` that selects this type.
    static var runtime: String { get }
    /// The settings this target reads, with their types and checks: validation uses it before
    /// anything runs (`cellbook validate --target T`).
    static var schema: TargetSchema { get }

    init(context: ServingContext, client: HTTPClient) throws

    /// Session, role, bucket, image: the tutorial's step 1.
    func setup(_ request: SetupRequest) async throws -> SetupResult
    /// Creates the model, its endpoint configuration and the endpoint; waits until it serves.
    func deploy(_ request: DeployRequest) async throws -> DeployResult
    /// Whether a recorded deployment still serves.
    func liveness(of deployment: DeployResult) async -> EndpointHealth
    /// How answers stream from a deployment: the chat cell and the load generator both use it.
    func chatTransport(for deployment: DeployResult) throws -> any ChatStreamTransport
    /// The server's own tokenizer, where it has one (prompt lengths are calibrated with probe
    /// requests otherwise).
    func tokenCounter(for deployment: DeployResult) -> (any PromptTokenCounter)?
    /// Deletes what deploy created. Safe to call when it is already gone.
    func cleanup(_ deployment: DeployResult) async throws -> CleanupResult
    /// What the deployment would cost per hour (USD, an estimate); 0 for what costs nothing,
    /// nil when unknown. The deploy cell's budget guard compares it before anything is created.
    func estimatedPricePerHour(_ request: DeployRequest) -> Double?

    /// Everything a run on this target needs, checked before it starts (`cellbook doctor`):
    /// read-only, quick, and never failing (a check that cannot run reports why).
    static func readiness(_ request: ReadinessRequest, client: HTTPClient) async -> [ReadinessCheck]
}

/// What a serving target may use: deliberately not the whole cell context.
public struct ServingContext: Sendable {
    /// The playbook target's name (`local`, `sagemaker`, ...) and its settings.
    public var targetName: String
    public var settings: [String: Value]
    public var playbookName: String
    /// The cell asking, for messages and tags.
    public var cellID: String
    public var console: any ServingConsole
    /// The cell's own folder under outputs/ (logs, pid files).
    public var workDirectory: String
    /// The playbook target's state folder (outputs/<playbook>/<target>).
    public var stateDirectory: String
    /// Cache outside the repository for runtimes and downloads.
    public var cacheDirectory: String
    public var environment: [String: String]
    /// The workshop session (`--session`), nil outside sessions.
    public var session: String?
    /// What deploys created, for the whole outputs folder: written before every create and after
    /// every confirmed delete.
    public var ledger: ResourceLedger

    public init(targetName: String, settings: [String: Value], playbookName: String, cellID: String,
                console: any ServingConsole, workDirectory: String, stateDirectory: String, cacheDirectory: String,
                environment: [String: String], session: String? = nil, ledger: ResourceLedger? = nil) {
        self.session = session
        self.ledger = ledger ?? ResourceLedger(path: "\(stateDirectory)/ledger.jsonl")
        self.targetName = targetName
        self.settings = settings
        self.playbookName = playbookName
        self.cellID = cellID
        self.console = console
        self.workDirectory = workDirectory
        self.stateDirectory = stateDirectory
        self.cacheDirectory = cacheDirectory
        self.environment = environment
    }

    /// A setting as text; nil when absent, null or empty.
    public func setting(_ key: String) -> String? {
        guard let v = settings[key], !v.isNull else { return nil }
        let s = v.interpolationText
        return s.isEmpty ? nil : s
    }

    /// The ledger's owner for a deployment of this playbook, target and session.
    public func owner(deployment: String) -> LedgerOwner {
        LedgerOwner(playbook: playbookName, target: targetName, session: session, deployment: deployment)
    }

    public func intSetting(_ key: String) -> Int? { settings[key]?.intValue ?? setting(key).flatMap { Int($0) } }
    public func doubleSetting(_ key: String) -> Double? { settings[key]?.doubleValue ?? setting(key).flatMap { Double($0) } }
}

/// Where a target writes what the reader sees (the cell's console, masked and logged).
public protocol ServingConsole: Sendable {
    func line(_ text: String)
    func write(_ text: String)
    /// A line that replaces itself until `final`.
    func progress(_ text: String, final: Bool)
}

/// Whether a recorded deployment still serves.
public enum EndpointHealth: Sendable, Equatable {
    case alive
    case gone(String)
}

/// A failure to show the reader: what happened, and beneath it what to do.
public struct ServingFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var detail: String?

    public init(_ message: String, detail: String? = nil) {
        self.message = message
        self.detail = detail
    }

    public var description: String { detail.map { "\(message)\n\($0)" } ?? message }
}
