import ArgumentParser
import CellbookEngine
import CellbookKinds
import Foundation

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a playbook's cells in order, serving unchanged cells from cache.",
        discussion: """
            Examples:
              cellbook run deploy-llama3                     run everything (cached cells are replayed)
              cellbook run deploy-llama3 --step              ask before each cell: run, skip or quit
              cellbook run deploy-llama3 --only chat --force run one cell again
              cellbook run deploy-llama3 --from deploy --until chat
              cellbook run deploy-llama3 --dry-run           show resolved inputs; execute nothing
              cellbook run deploy-llama3 --target sagemaker --yes   deploy although above the budget limit
              cellbook run deploy-llama3 --session alice     a workshop attendee's own state and endpoint
              cellbook run deploy-llama3 --record demo.jsonl record the run here (every run is recorded
                                                             under outputs/<playbook>/<target>/recordings/)
            """)

    @OptionGroup var options: PlaybookOptions
    @Option(help: "Run only this cell (its upstream values must already be in state).") var only: String?
    @Option(help: "Start at this cell; earlier cells' values come from state.") var from: String?
    @Option(help: "Stop after this cell.") var until: String?
    @Flag(help: "Ask before each cell: [r]un, [s]kip or [q]uit.") var step = false
    @Flag(help: "Run the selected cells even when cached.") var force = false
    @Flag(help: "Neither read nor write the cache: run everything selected and keep no state.") var noCache = false
    @Flag(help: "Print each cell's resolved inputs and whether it would run or come from cache.") var dryRun = false
    @Option(help: "Output format: text, or json (a summary on stdout; cell output on stderr).") var format: OutputFormat = .text
    @Flag(help: "Go ahead with a deploy whose estimated price is above the budget limit.") var yes = false
    @Option(name: .customLong("max-usd-per-hour"), help: "The budget limit for a deploy's estimated price (default: the target's max_usd_per_hour, else 10).")
    var maxUSDPerHour: Double?
    @Option(help: ArgumentHelp("Write the run's recording here (default: outputs/<playbook>/<target>/recordings/<time>.jsonl).",
                               valueName: "file")) var record: String?

    func run() async throws {
        let config = try options.load()
        // The budget guard's answers reach the deploy cell through the run's environment.
        var environment = options.environment
        if yes { environment["CELLBOOK_YES"] = "1" }
        if let maxUSDPerHour {
            guard maxUSDPerHour >= 0 else { throw EngineError.usage("--max-usd-per-hour must not be negative") }
            environment["CELLBOOK_MAX_USD_PER_HOUR"] = String(maxUSDPerHour)
        }
        let runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: try options.outputsRoot(),
                                    cacheDirectory: options.cacheDirectory, environment: environment, session: try options.sessionName())
        var o = RunOptions()
        o.only = only
        o.from = from
        o.until = until
        o.step = step
        o.force = force
        o.noCache = noCache
        o.dryRun = dryRun
        o.json = format == .json
        o.recording = RecordingOptions(path: record, cellbookVersion: Cellbook.version, overrides: options.overrides)
        let summary = try await runner.run(o)
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}
