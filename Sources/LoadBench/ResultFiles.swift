import CellbookHTTP
import CellbookJSON
import ServingKit
import Foundation

/// The files a run writes, named as llmperf names them.
public struct ResultFiles: Sendable, Equatable {
    public var summary: String
    public var individualResponses: String

    /// llmperf's file stem: `f"{model}_{mean_in}_{mean_out}"`, then every run of characters that
    /// are not word characters or '-' becomes '-', then runs of '-' collapse to one.
    /// e.g. `meta-llama/Meta-Llama-3-70B-Instruct` -> `meta-llama-Meta-Llama-3-70B-Instruct_550_150`.
    public static func baseName(model: String, meanInputTokens: Int, meanOutputTokens: Int) -> String {
        let raw = "\(model)_\(meanInputTokens)_\(meanOutputTokens)"
        var out = String.UnicodeScalarView()
        var previousWasReplacement = false
        for scalar in raw.unicodeScalars {
            // Python's `\w` on str: Unicode letters, digits and the underscore.
            let isWord = scalar == "_" || scalar.properties.isAlphabetic
                || scalar.properties.numericType != nil
            if isWord {
                out.append(scalar)
                previousWasReplacement = false
            } else if scalar == "-" {
                out.append(scalar)
                previousWasReplacement = false
            } else if !previousWasReplacement {
                out.append("-")
                previousWasReplacement = true
            }
        }
        // Collapse any "--" that came from literal hyphens next to replacements.
        var collapsed = String.UnicodeScalarView()
        for scalar in out {
            if scalar == "-", collapsed.last == "-" { continue }
            collapsed.append(scalar)
        }
        return String(collapsed)
    }

    /// Writes `<stem>_summary.json` and `<stem>_individual_responses.json` (4-space indent, as
    /// llmperf's `json.dump(..., indent=4)`), creating the directory if needed.
    public static func write(_ result: LoadTestResult, to directory: String) throws(LoadBenchError) -> ResultFiles {
        let stem = baseName(model: result.config.model, meanInputTokens: result.config.meanInputTokens,
                            meanOutputTokens: result.config.meanOutputTokens)
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .cannotWrite(path: directory, reason: "it exists and is not a directory")
            }
        } else {
            do { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw .cannotWrite(path: directory, reason: error.localizedDescription)
            }
        }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        let files = ResultFiles(summary: base + stem + "_summary.json",
                                individualResponses: base + stem + "_individual_responses.json")
        try writeText(JSONValue.object(result.summary.json).serialized(indent: 4), to: files.summary)
        let responses = JSONValue.array(result.requests.map { .object($0.jsonObject) })
        try writeText(responses.serialized(indent: 4), to: files.individualResponses)
        return files
    }

    /// Writes the self-contained HTML report as `<stem>_report.html` in `directory` (which must
    /// exist; `write(_:to:)` creates it) and returns its path.
    public static func writeHTMLReport(_ result: LoadTestResult, to directory: String,
                                       title: String? = nil) throws(LoadBenchError) -> String {
        let stem = baseName(model: result.config.model, meanInputTokens: result.config.meanInputTokens,
                            meanOutputTokens: result.config.meanOutputTokens)
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + stem + "_report.html"
        try writeText(HTMLReport.render(result, title: title), to: path)
        return path
    }

    static func writeText(_ text: String, to path: String) throws(LoadBenchError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .cannotWrite(path: path, reason: error.localizedDescription)
        }
    }
}
