import Foundation
import SystemKit

/// The tutorial's hardware table, extended: Model | Instance | Quantization | GPUs per replica | Memory per GPU | Verdict | $/h est.
public struct HardwareTable: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var model: String
        public var candidate: CandidateRow

        public init(model: String, candidate: CandidateRow) {
            self.model = model
            self.candidate = candidate
        }
    }

    public var rows: [Row]

    public init(rows: [Row]) { self.rows = rows }

    /// The tutorial's rows evaluated one request each: `HardwareTable(reports: [...])` shows each chosen row.
    public init(reports: [HardwareReport]) {
        rows = reports.map { Row(model: $0.model.displayName, candidate: $0.chosen) }
    }

    static let headers = ["", "Model", "Instance", "Quantization", "GPUs per replica", "Memory per GPU", "Verdict", "$/h est."]

    /// Aligned columns; the chosen row starts with "*", a row with a blocking error with "!".
    public func render() -> String {
        let cells = rows.map { row -> [String] in
            let c = row.candidate
            let mark = c.isBlocked ? "!" : (c.isChosen ? "*" : "")
            return [mark, row.model, c.instance.name, Self.quantizationCell(c), Self.gpusCell(c), Self.memoryCell(c), Self.verdictCell(c), formatPrice(c.pricePerHourUSD)]
        }
        return Format.table([Self.headers] + cells)
    }

    static func quantizationCell(_ c: CandidateRow) -> String {
        if case let .fitsWithQuantization(choice) = c.verdict {
            return choice.options.map(\.rawValue).joined(separator: " / ")
        }
        return c.estimate.quantization == .none ? "-" : c.estimate.quantization.rawValue
    }

    static func gpusCell(_ c: CandidateRow) -> String {
        let count = c.instance.acceleratorCount
        switch c.instance.acceleratorKind {
        case .neuron:
            return "\(count) Inferentia2 chip\(count == 1 ? "" : "s")"
        case .gpu:
            if c.gpusPerReplica > count { return "\(c.gpusPerReplica) (has \(count))" }
            if c.gpusPerReplica < count { return "\(c.gpusPerReplica) (of \(count))" }
            return "\(c.gpusPerReplica)"
        }
    }

    static func memoryCell(_ c: CandidateRow) -> String {
        "\(formatGB(c.estimate.perGPUTotalGB)) / \(formatGB(c.estimate.usablePerGPUGB)) GB"
    }

    static func verdictCell(_ c: CandidateRow) -> String {
        var text: String
        switch c.verdict {
        case .fits: text = "fits"
        case let .fitsWithQuantization(choice): text = "fits at \(choice.bitsPerWeight)-bit"
        case .doesNotFit: text = "does not fit"
        }
        if c.instance.acceleratorKind == .neuron, c.verdict.fitsSomehow {
            text += ", Neuron image"
        }
        if let error = c.findings.first(where: { $0.severity == .error && $0.code != .needsQuantization && $0.code != .doesNotFit }) {
            text += ", " + Self.shortReason(error)
        }
        return text
    }

    static func shortReason(_ finding: Finding) -> String {
        switch finding.code {
        case .smNumGPUsExceedsInstance: "SM_NUM_GPUS too high"
        case .smNumGPUsInvalid: "SM_NUM_GPUS invalid"
        case .headsNotDivisible, .kvHeadsNotDivisible: "heads do not shard"
        case .quantizationUnsupported: "quantization unsupported"
        default: "see errors"
        }
    }
}

extension HardwareReport {
    /// The whole report as text: headline, table, cheapest fits, findings, arithmetic, rules and the price caveat.
    public func renderText() -> String {
        var out: [String] = []
        let origin = model.origin == .builtIn ? "built-in profile" : "explicit profile"
        out.append("Hardware check: \(model.displayName) (\(model.id), \(String(format: "%.2f", model.parametersBillions))B params, \(origin)) on \(chosen.instance.name) (\(chosen.instance.acceleratorSummary)): \(verdict.label)")
        out.append("Settings: HF_MODEL_QUANTIZE=\(quantization.rawValue), SM_NUM_GPUS=\(smNumGPUs), MAX_INPUT_LENGTH=\(tokenLimits.maxInputLength), MAX_TOTAL_TOKENS=\(tokenLimits.maxTotalTokens), MAX_BATCH_TOTAL_TOKENS=\(tokenLimits.maxBatchTotalTokens)")
        out.append("")

        // The chosen row first, then the others from cheapest; unknown prices last.
        let others = candidates.filter { !$0.isChosen }.enumerated().sorted { a, b in
            let pa = a.element.pricePerHourUSD ?? .infinity, pb = b.element.pricePerHourUSD ?? .infinity
            return pa != pb ? pa < pb : a.offset < b.offset  // equal or unknown prices keep catalog order
        }.map(\.element)
        let table = HardwareTable(rows: ([chosen] + others).map { .init(model: model.displayName, candidate: $0) })
        out.append(table.render())
        out.append("* = your configuration; other rows use SM_NUM_GPUS = the instance's GPU count; ! = will not start as configured. Memory per GPU = needed / usable.")
        out.append("")

        let precision = quantization == .none ? "unquantized" : "at \(quantization.rawValue)"
        if let fit = cheapestFit {
            out.append("Cheapest that fits \(precision): \(fit.instance.name) (\(fit.instance.acceleratorSummary), SM_NUM_GPUS=\(fit.gpusPerReplica)) at \(formatPrice(fit.pricePerHourUSD))/h est.")
        } else {
            out.append("Cheapest that fits \(precision): none of the priced candidates.")
        }
        if let fit = cheapestFitWithQuantization {
            if fit.instance.name == cheapestFit?.instance.name {
                out.append("Cheapest with quantization allowed: the same; quantizing buys nothing cheaper.")
            } else {
                let how: String
                if case let .fitsWithQuantization(choice) = fit.verdict { how = "with \(choice.label)" } else { how = precision }
                out.append("Cheapest with quantization allowed: \(fit.instance.name) \(how), SM_NUM_GPUS=\(fit.gpusPerReplica), at \(formatPrice(fit.pricePerHourUSD))/h est.")
            }
        }
        if !unpricedFits.isEmpty {
            out.append("Also fits, price unknown: \(unpricedFits.joined(separator: ", ")).")
        }
        out.append("")

        if !findings.isEmpty {
            out.append("Findings for \(chosen.instance.name):")
            for finding in findings {
                out.append("  \(finding.severity.rawValue.uppercased()): \(finding.message)")
            }
            out.append("")
        }

        out.append("Arithmetic (\(chosen.instance.name), \(quantization == .none ? "bf16" : quantization.rawValue), SM_NUM_GPUS=\(smNumGPUs)):")
        out += estimate.arithmetic.map { "  " + $0 }
        if case let .fitsWithQuantization(choice) = verdict {
            out.append("With \(choice.label):")
            out += chosen.estimate.arithmetic.map { "  " + $0 }
        }
        out.append("")
        out.append("Rules:")
        out += rules.statements.map { "  " + $0 }
        out.append("")
        out.append("Prices are ESTIMATES in USD per instance-hour (on-demand SageMaker real-time inference, \(priceRegion)), not AWS quotes; check the AWS SageMaker pricing page before deploying. Sources:")
        out += priceSources.map { "  " + $0 }
        return out.joined(separator: "\n")
    }
}

