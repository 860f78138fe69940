import AWSCore
import AWSServices
import CellbookHTTP
import Foundation
import ServingKit

/// `status` and `cleanup` for SageMaker resources in the ledger, and the sweep that finds them by
/// cellbook's tags when a ledger was lost. Credentials come from the environment as for a run;
/// each resource is looked up in the region the ledger recorded.
public struct SageMakerResourceHandler: LedgerResourceHandler {
    /// The `cellbook-session` tag value outside sessions.
    public static let noSession = "-"

    public init() {}

    public var kinds: [String] {
        [SageMakerTarget.LedgerKind.endpoint, SageMakerTarget.LedgerKind.endpointConfig, SageMakerTarget.LedgerKind.model]
    }

    func client(region: String?, environment: [String: String]) throws -> SageMakerClient {
        let config = AWSConfigEnvironment(environment: environment)
        return SageMakerClient(try AWSSession.resolve(region: region, config: config, http: HTTPClient()))
    }

    public func check(_ holding: LedgerHolding, environment: [String: String]) async -> ResourceCheck {
        do {
            let sm = try client(region: holding.resource.region, environment: environment)
            let name = holding.resource.name
            switch holding.resource.kind {
            case SageMakerTarget.LedgerKind.endpoint:
                guard let d = try await sm.describeEndpoint(name: name) else { return .gone }
                return .alive(status: d.status.rawValue)
            case SageMakerTarget.LedgerKind.endpointConfig:
                return try await sm.describeEndpointConfig(name: name) == nil ? .gone : .alive(status: "exists")
            default:
                return try await sm.describeModel(name: name) == nil ? .gone : .alive(status: "exists")
            }
        } catch {
            return .unknown("\(error)")
        }
    }

    public func delete(_ holding: LedgerHolding, environment: [String: String]) async throws -> DeleteOutcome {
        let sm = try client(region: holding.resource.region, environment: environment)
        let name = holding.resource.name
        let removed: Bool
        switch holding.resource.kind {
        case SageMakerTarget.LedgerKind.endpoint:
            removed = try await sm.deleteEndpoint(name: name)
            // Billing ends when the endpoint is gone, not when Deleting starts: wait for it.
            let start = Date()
            while removed, try await sm.describeEndpoint(name: name) != nil, Date().timeIntervalSince(start) < 900 {
                try await Task.sleep(for: .seconds(2))
            }
        case SageMakerTarget.LedgerKind.endpointConfig:
            removed = try await sm.deleteEndpointConfig(name: name)
        default:
            removed = try await sm.deleteModel(name: name)
        }
        return removed ? .deleted : .alreadyGone
    }

    public func pricePerHour(_ holding: LedgerHolding) -> Double? {
        guard holding.resource.kind == SageMakerTarget.LedgerKind.endpoint else { return 0 }
        return holding.details["price_usd_per_hour"].flatMap(Double.init)
    }

    /// Every endpoint, configuration and model in `regions` whose tags say cellbook made it for
    /// this scope: the endpoints first, so deleting in order never leaves an endpoint without
    /// its configuration.
    public func sweep(scope: SweepScope, regions: Set<String>, environment: [String: String]) async throws -> [LedgerHolding] {
        var found: [LedgerHolding] = []
        var regions = regions
        // The regions the ledger names, and the one the environment resolves to (a lost ledger
        // names none).
        let config = AWSConfigEnvironment(environment: environment)
        if let resolved = try? AWSRegionResolver.resolve(config, explicit: nil) { regions.insert(resolved.region) }
        // Without credentials there is nothing to sweep with; a run that never used AWS has none.
        guard (try? AWSCredentialChain.resolve(config)) != nil else { return [] }
        for region in regions.sorted() {
            let sm = try client(region: region, environment: environment)
            var listed: [(kind: String, name: String, arn: String)] = []
            listed += try await sm.listEndpoints().map { (SageMakerTarget.LedgerKind.endpoint, $0.name, $0.arn) }
            listed += try await sm.listEndpointConfigs().map { (SageMakerTarget.LedgerKind.endpointConfig, $0.name, $0.arn) }
            listed += try await sm.listModels().map { (SageMakerTarget.LedgerKind.model, $0.name, $0.arn) }
            for item in listed where !item.arn.isEmpty {
                let tags = Dictionary(try await sm.listTags(resourceARN: item.arn), uniquingKeysWith: { a, _ in a })
                guard tags["cellbook"] == "true", let playbook = tags["cellbook-playbook"] else { continue }
                let session = tags["cellbook-session"].flatMap { $0 == Self.noSession ? nil : $0 }
                let owner = LedgerOwner(playbook: playbook, target: tags["cellbook-target"] ?? "sagemaker", session: session,
                                        deployment: tags["cellbook-endpoint"] ?? item.name)
                guard scope.covers(owner) else { continue }
                found.append(LedgerHolding(resource: LedgerResource(kind: item.kind, name: item.name, region: region), owner: owner,
                                           state: .created, since: Date(), details: ["arn": item.arn, "found_by": "tags"]))
            }
        }
        return found
    }
}
