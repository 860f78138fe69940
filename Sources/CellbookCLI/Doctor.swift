import ArgumentParser
import CellbookEngine
import CellbookHTTP
import CellbookKinds
import Foundation
import PlaybookModel
import ServingKit
import SystemKit

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that everything a run on a target needs is here, before the day: a table of ok / missing / how to fix.",
        discussion: """
            local: the runtime installed and its model intact, else what a first install needs (C/C++ compiler, \
            python3 with venv, disk, the package index); memory and free cores. sagemaker: credentials and where they \
            were found, region, caller identity (one signed STS call), the execution role, and the endpoint quota \
            (which only Service Quotas can answer). Nothing is installed, started or written.

            Without a playbook, deploy-llama3 is used when playbooks/ has it; otherwise --target names a runtime \
            (local or sagemaker).

            Exit codes: 0 a run can start, 1 something is missing, 2 usage error.

            Examples:
              cellbook doctor
              cellbook doctor deploy-llama3 --target sagemaker
              cellbook doctor --target local --format json
            """)

    @Argument(help: "The playbook: a path, or a name under playbooks/ (default: deploy-llama3 if present).")
    var playbook: String?

    @Option(name: .long, help: "The target to check (default: the playbook's default_target, or local).")
    var target: String?

    @Option(name: .long, help: "The outputs folder, for what setup recorded last time (default: ./outputs, or $CELLBOOK_OUTPUTS).")
    var outputs: String?

    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    struct Report: Encodable {
        var playbook: String?
        var target: String
        var runtime: String
        var ready: Bool
        var checks: [ReadinessCheck]
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let playbookName = playbook ?? (FileManager.default.fileExists(atPath: "playbooks/deploy-llama3.yaml") ? "deploy-llama3" : nil)
        var request: ReadinessRequest
        var runtime: String
        var path: String?
        if let playbookName {
            var argv = [playbookName]
            if let target { argv += ["--target", target] }
            if let outputs { argv += ["--outputs", outputs] }
            let options = try PlaybookOptions.parse(argv)
            let config = try options.load(requireSecrets: false)
            path = options.playbookPath
            runtime = config.target.settings["runtime"]?.stringValue ?? config.target.name
            request = ReadinessRequest(targetName: config.target.name, settings: config.target.settings, parameters: config.params,
                                       recordedSetup: recordedSetup(config, options), environment: environment,
                                       cacheDirectory: options.cacheDirectory)
        } else {
            runtime = target ?? "local"
            request = ReadinessRequest(targetName: runtime, environment: environment,
                                       cacheDirectory: PlaybookOptions.cacheDirectory(environment))
        }
        guard let type = allServingTargets.first(where: { $0.runtime == runtime }) else {
            let known = allServingTargets.map { $0.runtime }.joined(separator: ", ")
            throw EngineError.usage("no target runtime '\(runtime)': choose one of \(known)")
        }
        let checks = await type.readiness(request, client: HTTPClient())
        let report = ReadinessReport(target: request.targetName, runtime: runtime, checks: checks)
        if format == .json {
            try printJSON(Report(playbook: path, target: report.target, runtime: runtime, ready: report.ready, checks: checks))
        } else {
            print("cellbook doctor · \(path.map { "\($0) · " } ?? "")target \(report.target) (\(runtime))\n")
            // The table holds each check's first line; what to do (and the rest of a long detail) follows it.
            var rows = [["check", "status", "detail"]]
            for c in checks { rows.append([c.check, c.status.rawValue, String(c.detail.split(separator: "\n").first ?? "")]) }
            print(Format.table(rows))
            let toFix = checks.filter { ($0.status == .missing || $0.status == .warn) && (!$0.fix.isEmpty || $0.detail.contains("\n")) }
            if !toFix.isEmpty { print("\nHow to fix:") }
            for c in toFix {
                print("  \(c.check) (\(c.status.rawValue)):")
                for line in c.detail.split(separator: "\n").dropFirst() { print("    \(line.trimmingCharacters(in: .whitespaces))") }
                if !c.fix.isEmpty { print("    → \(c.fix)") }
            }
            let missing = checks.filter { $0.status == .missing }.map(\.check)
            print(missing.isEmpty ? "\nReady: a run on \(report.target) can start."
                  : "\nNot ready: \(missing.joined(separator: ", ")) missing (see how to fix).")
        }
        if !report.ready { throw ExitCode(1) }
    }

    /// The setup cell's outputs from the last run on this target, if any.
    func recordedSetup(_ config: RunConfiguration, _ options: PlaybookOptions) -> [String: Value]? {
        guard let setup = config.playbook.cells.first(where: { $0.kind == "setup" }), let root = try? options.outputsRoot(),
            let values = try? SessionInspector(config: config, outputsRoot: root).values()
        else { return nil }
        return values.first(where: { $0.0 == setup.id })?.1
    }
}
