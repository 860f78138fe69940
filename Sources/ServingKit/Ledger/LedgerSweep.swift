import Foundation

/// One resource as `cellbook status` shows it: what the ledger says, what a check found now,
/// what it costs and how to delete it.
public struct ResourceStatus: Sendable, Encodable {
    public var kind: String
    public var name: String
    public var region: String?
    public var playbook: String
    public var target: String
    public var session: String?
    /// The ledger's last word: `intent` (a create that may or may not have happened) or `created`.
    public var recorded: String
    /// Checked now: `alive`, `gone` or `unknown`, with what the check said.
    public var check: String
    public var checkDetail: String
    public var since: Date
    public var ageSeconds: Double
    public var pricePerHourUSD: Double?
    public var spentUSD: Double?
    public var priceIsEstimate: Bool
    public var expiresAt: String?
    public var expired: Bool
    public var deleteCommand: String

    enum CodingKeys: String, CodingKey {
        case kind, name, region, playbook, target, session, recorded, check
        case checkDetail = "check_detail", since
        case ageSeconds = "age_s", pricePerHourUSD = "price_usd_per_hour", spentUSD = "spent_usd_so_far"
        case priceIsEstimate = "price_is_estimate", expiresAt = "expires_at", expired
        case deleteCommand = "delete_command"
    }
}

/// `cellbook status` and `cellbook cleanup` over a ledger, with the handlers that know each kind.
public struct LedgerSweep: Sendable {
    public let ledger: ResourceLedger
    public let handlers: [any LedgerResourceHandler]
    public let environment: [String: String]

    public init(ledger: ResourceLedger, handlers: [any LedgerResourceHandler], environment: [String: String]) {
        self.ledger = ledger
        self.handlers = handlers
        self.environment = environment
    }

    func handler(_ kind: String) -> (any LedgerResourceHandler)? { handlers.first { $0.kinds.contains(kind) } }

    static func isExpired(_ holding: LedgerHolding, now: Date) -> Bool {
        guard let text = holding.details["expires_at"], let at = ISO8601DateFormatter().date(from: text) else { return false }
        return at < now
    }

    /// The command that deletes a resource's whole deployment.
    static func deleteCommand(_ owner: LedgerOwner) -> String {
        "cellbook cleanup \(owner.playbook)" + (owner.session.map { " --session \($0)" } ?? "")
    }

    /// Every resource the ledger holds in `scope`, each checked now.
    public func status(scope: SweepScope, now: Date = Date()) async -> [ResourceStatus] {
        var rows: [ResourceStatus] = []
        for holding in ledger.holdings() where scope.covers(holding.owner) {
            let handler = handler(holding.resource.kind)
            let check = await handler?.check(holding, environment: environment) ?? .unknown("no handler for \(holding.resource.kind)")
            let (word, detail): (String, String) = switch check {
            case .alive(let status): ("alive", status)
            case .gone: ("gone", "not found now; `cellbook cleanup` records it gone")
            case .unknown(let why): ("unknown", why)
            }
            let age = now.timeIntervalSince(holding.since)
            let price = handler?.pricePerHour(holding)
            let billing = check != .gone
            rows.append(ResourceStatus(
                kind: holding.resource.kind, name: holding.resource.name, region: holding.resource.region,
                playbook: holding.owner.playbook, target: holding.owner.target, session: holding.owner.session,
                recorded: holding.state.rawValue, check: word, checkDetail: detail, since: holding.since, ageSeconds: age.rounded(),
                pricePerHourUSD: price, spentUSD: billing ? price.map { ($0 * age / 3600 * 100).rounded() / 100 } : nil,
                priceIsEstimate: true, expiresAt: holding.details["expires_at"], expired: Self.isExpired(holding, now: now),
                deleteCommand: Self.deleteCommand(holding.owner)))
        }
        return rows
    }

    /// What a cleanup did to one resource.
    public struct Outcome: Sendable, Encodable {
        public var kind: String
        public var name: String
        public var region: String?
        public var session: String?
        /// `deleted`, `already gone`, `would delete` (dry run), `failed`, or `kept` (waits for its endpoint).
        public var result: String
        public var error: String?
        public var foundBy: String
    }

    /// Deletes everything the ledger holds in `scope` (only the expired ones with `expiredOnly`),
    /// plus what the handlers' sweeps find by tag that the ledger does not know. Each resource
    /// is recorded gone in the ledger only once its deletion is confirmed; failures are reported
    /// per resource and leave the ledger as it was for that resource.
    public func cleanup(scope: SweepScope, expiredOnly: Bool, dryRun: Bool, now: Date = Date(),
                        report: @Sendable (Outcome) -> Void = { _ in }, note: @Sendable (String) -> Void = { _ in }) async -> [Outcome] {
        var targets = ledger.holdings().filter { scope.covers($0.owner) && (!expiredOnly || Self.isExpired($0, now: now)) }
            .map { ($0, "ledger") }
        if !expiredOnly {
            let regions = Set(ledger.holdings().compactMap(\.resource.region))
            for handler in handlers {
                do {
                    for found in try await handler.sweep(scope: scope, regions: regions, environment: environment)
                    where !targets.contains(where: { $0.0.resource == found.resource }) {
                        targets.append((found, "tags"))
                    }
                } catch {
                    note("the sweep by tag for \(handler.kinds.joined(separator: ", ")) was skipped: \(error)")
                }
            }
        }
        // Endpoints before their configurations before their models; servers anywhere.
        let order = ["sagemaker-endpoint": 0, "sagemaker-endpoint-config": 1, "sagemaker-model": 2]
        targets.sort { (order[$0.0.resource.kind] ?? -1) < (order[$1.0.resource.kind] ?? -1) }
        var outcomes: [Outcome] = []
        // Deployments whose endpoint could not be deleted keep their configuration and model, so
        // the live endpoint stays describable (SageMaker would let them go and hide its instance type).
        var blocked: Set<String> = []
        func deploymentKey(_ h: LedgerHolding) -> String { "\(h.resource.region ?? "")/\(h.owner.playbook)/\(h.owner.session ?? "")/\(h.owner.deployment)" }
        for (holding, foundBy) in targets {
            var outcome = Outcome(kind: holding.resource.kind, name: holding.resource.name, region: holding.resource.region,
                                  session: holding.owner.session, result: "would delete", error: nil, foundBy: foundBy)
            if !dryRun && holding.resource.kind != "sagemaker-endpoint" && blocked.contains(deploymentKey(holding)) {
                outcome.result = "kept"
                outcome.error = "its endpoint could not be deleted; kept until it is"
                outcomes.append(outcome)
                report(outcome)
                continue
            }
            if !dryRun {
                guard let handler = handler(holding.resource.kind) else {
                    outcome.result = "failed"
                    outcome.error = "cellbook does not know how to delete a \(holding.resource.kind)"
                    outcomes.append(outcome)
                    report(outcome)
                    continue
                }
                do {
                    let done = try await handler.delete(holding, environment: environment)
                    try ledger.record(.deleted, holding.resource, owner: holding.owner)
                    outcome.result = done == .deleted ? "deleted" : "already gone"
                } catch {
                    outcome.result = "failed"
                    outcome.error = "\(error)"
                    if holding.resource.kind == "sagemaker-endpoint" { blocked.insert(deploymentKey(holding)) }
                }
            }
            outcomes.append(outcome)
            report(outcome)
        }
        return outcomes
    }
}
