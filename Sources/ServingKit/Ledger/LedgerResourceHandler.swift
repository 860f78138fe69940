import Foundation

/// What `status` and `cleanup` need to know about one kind of resource in the ledger, without a
/// playbook: whether it still exists, what it costs, how to delete it. Each target module
/// provides one for the kinds it creates (registered in CellbookKinds/AllKinds.swift).
public protocol LedgerResourceHandler: Sendable {
    /// The ledger kinds this handler knows (`local-server`, `sagemaker-endpoint`, ...).
    var kinds: [String] { get }
    /// Checked now: a process alive and its port open; DescribeEndpoint; ...
    func check(_ holding: LedgerHolding, environment: [String: String]) async -> ResourceCheck
    /// Deletes it; already gone counts as done.
    func delete(_ holding: LedgerHolding, environment: [String: String]) async throws -> DeleteOutcome
    /// USD per hour while it exists (an estimate); 0 when free, nil when unknown.
    func pricePerHour(_ holding: LedgerHolding) -> Double?
    /// Resources that carry cellbook's tags for this scope but that the ledger may not know (a
    /// laptop that died with its ledger): found by listing, e.g. SageMaker resources by tag.
    func sweep(scope: SweepScope, regions: Set<String>, environment: [String: String]) async throws -> [LedgerHolding]
}

extension LedgerResourceHandler {
    public func sweep(scope: SweepScope, regions: Set<String>, environment: [String: String]) async throws -> [LedgerHolding] { [] }
}

/// What a check found.
public enum ResourceCheck: Sendable, Equatable {
    /// It exists; `status` is what its service says (InService, running on port 8080, ...).
    case alive(status: String)
    case gone
    /// It could not be checked (no credentials, no network): the reason.
    case unknown(String)
}

public enum DeleteOutcome: Sendable, Equatable {
    case deleted
    case alreadyGone
}

/// Which deployments a sweep covers.
public struct SweepScope: Sendable {
    /// nil: every playbook.
    public var playbook: String?
    /// nil: outside sessions only; a name: that session; `allSessions`: all of them.
    public var session: String?
    public var allSessions: Bool

    public init(playbook: String?, session: String?, allSessions: Bool) {
        self.playbook = playbook
        self.session = session
        self.allSessions = allSessions
    }

    public func covers(_ owner: LedgerOwner) -> Bool {
        if let playbook, owner.playbook != playbook { return false }
        return allSessions || owner.session == session
    }
}
