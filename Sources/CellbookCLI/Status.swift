import ArgumentParser
import CellbookEngine
import CellbookKinds
import Foundation
import PlaybookModel
import ServingKit
import SystemKit

/// Options `status` and `cleanup` share: which deployments, in which outputs folder.
struct LedgerScopeOptions: ParsableArguments {
    @Argument(help: "A playbook (a path or a name under playbooks/); all playbooks when left out.")
    var playbook: String?

    @Option(name: .long, help: "The outputs folder whose ledger to read (default: ./outputs, or $CELLBOOK_OUTPUTS).")
    var outputs: String?

    @Option(name: .long, help: "One workshop session (default: $CELLBOOK_SESSION; none: outside sessions).")
    var session: String?

    @Flag(name: .customLong("all-sessions"), help: "Every session (a trainer's view).")
    var allSessions = false

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The playbook's name: read from the file when a file is given.
    func playbookName() -> String? {
        guard let playbook else { return nil }
        for candidate in [playbook, "playbooks/\(playbook).yaml", "playbooks/\(playbook).yml"]
        where FileManager.default.fileExists(atPath: candidate) {
            if let pb = PlaybookParser.load(path: candidate).0 { return pb.name }
        }
        return playbook
    }

    func scope() throws -> SweepScope {
        if allSessions && session != nil { throw EngineError.usage("give --session NAME or --all-sessions, not both") }
        return SweepScope(playbook: playbookName(), session: try resolvedSession(session, environment: environment), allSessions: allSessions)
    }

    func ledger() throws -> ResourceLedger {
        ResourceLedger(outputsRoot: try resolvedOutputsRoot(outputs, environment: environment))
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every resource cellbook's deploys created and what it costs, checked now.",
        discussion: """
            Reads the resource ledger of the outputs folder (outputs/ledger.jsonl), which every deploy writes \
            before it creates anything, and checks each resource now (a server process and its port; \
            SageMaker's DescribeEndpoint). Prices are estimates from cellbook's instance catalog.

            Examples:
              cellbook status                         everything outside sessions
              cellbook status deploy-llama3 --all-sessions --format json
            """)

    @OptionGroup var scopeOptions: LedgerScopeOptions
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() async throws {
        let ledger = try scopeOptions.ledger()
        let sweep = LedgerSweep(ledger: ledger, handlers: allLedgerHandlers, environment: scopeOptions.environment)
        let rows = await sweep.status(scope: try scopeOptions.scope())
        let alive = rows.filter { $0.check != "gone" }
        let hourly = alive.compactMap(\.pricePerHourUSD).reduce(0, +)
        let spent = alive.compactMap(\.spentUSD).reduce(0, +)
        if format == .json {
            struct Report: Encodable {
                var ledger: String
                var resources: [ResourceStatus]
                var alive: Int
                var usd_per_hour_estimate: Double
                var usd_spent_estimate: Double
            }
            try printJSON(Report(ledger: ledger.path, resources: rows, alive: alive.count,
                                 usd_per_hour_estimate: (hourly * 100).rounded() / 100, usd_spent_estimate: (spent * 100).rounded() / 100))
            return
        }
        guard !rows.isEmpty else {
            print("Nothing cellbook created is alive (ledger \(ledger.path)).")
            return
        }
        var table = [["resource", "region", "now", "age", "$/h est.", "spent est.", "made by", "delete with"]]
        for r in rows {
            let now = r.check == "alive" ? r.checkDetail : r.check == "gone" ? "gone" : "unknown: \(r.checkDetail.prefix(60))"
            let expiry = r.expired ? " (EXPIRED)" : ""
            table.append([
                "\(r.kind.replacingOccurrences(of: "-", with: " ")) \(r.name)" + (r.recorded == "intent" ? " (create not confirmed)" : ""),
                r.region ?? "-", now + expiry, Format.duration(r.ageSeconds),
                r.pricePerHourUSD.map { $0 == 0 ? "free" : String(format: "%.2f", $0) } ?? "unknown",
                r.spentUSD.map { $0 == 0 ? "-" : String(format: "%.2f", $0) } ?? "-",
                "\(r.playbook)/\(r.target)" + (r.session.map { ", session \($0)" } ?? ""),
                r.deleteCommand,
            ])
        }
        print("Resources cellbook's deploys created (ledger \(ledger.path)), checked now:")
        print(Format.table(table))
        print(String(format: "%d alive; about $%.2f per hour while they exist, about $%.2f spent so far (estimates from cellbook's catalog, not AWS bills).",
                     alive.count, hourly, spent))
        if rows.contains(where: \.expired) { print("Past their ttl: `cellbook cleanup --all --all-sessions --expired` deletes them.") }
    }
}
