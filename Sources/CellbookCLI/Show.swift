import SystemKit
import ArgumentParser
import CellbookEngine
import Foundation
import PlaybookModel

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one cell: resolved inputs, outputs, log, cache key and when it ran.",
        discussion: "Example:\n  cellbook show deploy-llama3 chat")

    @OptionGroup var options: PlaybookOptions
    @Argument(help: "The cell id.") var cell: String
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() async throws {
        let config = try options.load(requireSecrets: false)
        let d = try SessionInspector(config: config, outputsRoot: try options.outputsRoot(), session: try options.sessionName()).detail(cell)
        if format == .json { return try printJSON(d) }
        print(Format.bold("\(d.id) · \(d.title)") + "  (kind \(d.kind), \(d.status.rawValue))")
        if let s = d.startedAt { print("ran:        \(Format.timestamp(s))" + (d.durationSeconds.map { ", took \(Format.duration($0))" } ?? "")) }
        let stale = d.cacheKey != nil && d.cacheKey != d.currentCacheKey
        let why = d.dependencyChanges.isEmpty ? "its inputs changed since it ran" : d.dependencyChanges.joined(separator: ", ")
        print("cache key:  \(d.cacheKey ?? "-")" + (stale ? "  (stale: \(why))" : ""))
        section("inputs", d.inputs)
        if !d.reads.isEmpty { section("upstream values read", d.reads) }
        if let deps = d.dependsOn {
            print("\ndepends on (as when it ran):")
            for (pattern, files) in deps.files.sorted(by: { $0.key < $1.key }) {
                print("  \(pattern): " + (files.isEmpty ? "no file" : files.sorted(by: { $0.key < $1.key })
                    .map { "\($0.key) (sha256 \($0.value.prefix(12)))" }.joined(separator: ", ")))
            }
            for (name, digest) in deps.env.sorted(by: { $0.key < $1.key }) {
                print("  $\(name): " + (digest == "unset" ? "unset" : "set (sha256 \(digest.prefix(12)))"))
            }
        }
        section("outputs", d.outputs)
        if let e = d.error { print("\nerror:\n  \(e.replacingOccurrences(of: "\n", with: "\n  "))") }
        print("\nlog (\(d.logPath)):")
        print((d.log ?? "(none)").split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
    }

    private func section(_ title: String, _ values: [String: Value]) {
        print("\n\(title):")
        if values.isEmpty { print("  (none)") }
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            let text = v.interpolationText
            print("  \(k): \(text.count > 300 ? String(text.prefix(300)) + "… (\(text.count) chars)" : text)")
        }
    }
}
