import ArgumentParser
import CellbookEngine
import CellbookKinds
import Foundation
import ServingKit

struct Cleanup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete everything cellbook's deploys created: from the ledger, and on SageMaker by tag too.",
        discussion: """
            Deletes what the resource ledger holds for the scope (servers are stopped; SageMaker endpoints, \
            endpoint configurations and models deleted), and on SageMaker also every endpoint, configuration \
            and model carrying cellbook's tags for that scope, so a lost ledger (a laptop that died) does not \
            mean a lost endpoint. Already gone counts as done. Each resource leaves the ledger only once its \
            deletion is confirmed; a failure is reported for that resource, and the exit code is 1.

            Examples:
              cellbook cleanup deploy-llama3                       this playbook, outside sessions
              cellbook cleanup deploy-llama3 --session alice
              cellbook cleanup --all --all-sessions --dry-run      what a trainer's sweep would delete
              cellbook cleanup --all --all-sessions --expired      from cron: deployments past their ttl
            """)

    @OptionGroup var scopeOptions: LedgerScopeOptions
    @Flag(help: "Every playbook (instead of naming one).") var all = false
    @Flag(help: "Only deployments past their ttl.") var expired = false
    @Flag(help: "Say what would be deleted; delete nothing.") var dryRun = false
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func validate() throws {
        if scopeOptions.playbook == nil && !all {
            throw ValidationError("name a playbook, or give --all for every playbook")
        }
        if scopeOptions.playbook != nil && all { throw ValidationError("name a playbook or give --all, not both") }
    }

    func run() async throws {
        let ledger = try scopeOptions.ledger()
        let sweep = LedgerSweep(ledger: ledger, handlers: allLedgerHandlers, environment: scopeOptions.environment)
        let json = format == .json
        let outcomes = await sweep.cleanup(scope: try scopeOptions.scope(), expiredOnly: expired, dryRun: dryRun, report: { o in
            guard !json else { return }
            let what = "\(o.kind.replacingOccurrences(of: "-", with: " ")) \(o.name)" + (o.region.map { " (\($0))" } ?? "")
                + (o.session.map { ", session \($0)" } ?? "") + (o.foundBy == "tags" ? ", found by its tags" : "")
            print("  \(o.result): \(what)" + (o.error.map { ": \($0)" } ?? ""))
        }, note: { text in if !json { print("  note: \(text)") } })
        let failed = outcomes.filter { $0.result == "failed" || $0.result == "kept" }
        if json {
            struct Report: Encodable { var ledger: String; var dry_run: Bool; var resources: [LedgerSweep.Outcome]; var failed: Int }
            try printJSON(Report(ledger: ledger.path, dry_run: dryRun, resources: outcomes, failed: failed.count))
        } else if outcomes.isEmpty {
            print("Nothing to delete: the ledger (\(ledger.path)) holds nothing in this scope" + (expired ? " past its ttl" : "") + ".")
        } else if dryRun {
            print("Dry run: \(outcomes.count) resource(s) would be deleted; nothing was.")
        } else {
            print(failed.isEmpty ? "Done: nothing in this scope is left." : "\(failed.count) resource(s) could not be deleted; they stay in the ledger. Run again, or see the errors above.")
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
