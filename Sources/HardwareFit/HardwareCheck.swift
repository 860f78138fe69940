import Foundation

/// What to check: a model, how it is served, and where.
public struct HardwareRequest: Sendable, Equatable {
    public var model: ModelSpec
    /// `HF_MODEL_QUANTIZE`
    public var quantization: Quantization
    /// `SM_NUM_GPUS`: how many GPUs TGI shards the model over.
    public var smNumGPUs: Int
    public var tokenLimits: TokenLimits
    /// The instance the deploy will use, "ml.p4d.24xlarge".
    public var instanceType: String

    public init(model: ModelSpec, quantization: Quantization = .none, smNumGPUs: Int, tokenLimits: TokenLimits, instanceType: String) {
        self.model = model
        self.quantization = quantization
        self.smNumGPUs = smNumGPUs
        self.tokenLimits = tokenLimits
        self.instanceType = instanceType
    }

    /// Reads the TGI container environment the tutorial builds (`HF_MODEL_ID`, `SM_NUM_GPUS`, `MAX_INPUT_LENGTH`,
    /// `MAX_TOTAL_TOKENS`, `MAX_BATCH_TOTAL_TOKENS`, optional `HF_MODEL_QUANTIZE`).
    public init(environment env: [String: String], instanceType: String) throws {
        func integer(_ names: [String]) throws -> Int {
            guard let name = names.first(where: { env[$0] != nil }), let text = env[name] else {
                throw HardwareCheckError.missingSetting(name: names[0])
            }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw HardwareCheckError.invalidSetting(name: name, value: text, expected: "a whole number")
            }
            return value
        }
        guard let id = env["HF_MODEL_ID"], !id.isEmpty else { throw HardwareCheckError.missingSetting(name: "HF_MODEL_ID") }
        self.init(
            model: .id(id),
            quantization: try Quantization(hfModelQuantize: env["HF_MODEL_QUANTIZE"]),
            smNumGPUs: try integer(["SM_NUM_GPUS"]),
            // Newer TGI calls it MAX_INPUT_TOKENS; both mean the same.
            tokenLimits: TokenLimits(
                maxInputLength: try integer(["MAX_INPUT_LENGTH", "MAX_INPUT_TOKENS"]),
                maxTotalTokens: try integer(["MAX_TOTAL_TOKENS"]),
                maxBatchTotalTokens: try integer(["MAX_BATCH_TOTAL_TOKENS"])),
            instanceType: instanceType)
    }
}

public enum HardwareCheckError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingSetting(name: String)
    case invalidSetting(name: String, value: String, expected: String)
    case noCandidates

    public var description: String {
        switch self {
        case let .missingSetting(name):
            return "\(name) is not set: the hardware check needs it (the tutorial sets SM_NUM_GPUS=8, MAX_INPUT_LENGTH=2048, MAX_TOTAL_TOKENS=4096, MAX_BATCH_TOTAL_TOKENS=8192)."
        case let .invalidSetting(name, value, expected):
            return "\(name)='\(value)' is not valid: expected \(expected)."
        case .noCandidates:
            return "The candidate instance list is empty: leave it out to compare against the whole catalog, or name at least one instance type."
        }
    }
}

/// One instance evaluated for the model: what it would take and whether it fits.
public struct CandidateRow: Codable, Sendable, Equatable {
    public var instance: InstanceType
    /// True for the instance the request names (evaluated with the request's SM_NUM_GPUS).
    public var isChosen: Bool
    /// SM_NUM_GPUS for this row: the request's on the chosen row, the instance's GPU count elsewhere.
    public var gpusPerReplica: Int
    /// The quantization the verdict is for: the requested one, or the first suggested option.
    public var quantization: Quantization
    public var verdict: Verdict
    /// Memory at `quantization`.
    public var estimate: MemoryEstimate
    /// Problems of this configuration on this instance, errors first.
    public var findings: [Finding]

    public var pricePerHourUSD: Double? { instance.pricePerHourUSD }

    /// An error other than memory stops the deploy whatever the quantization (wrong GPU count, unshardable heads).
    public var isBlocked: Bool {
        findings.contains { $0.severity == .error && $0.code != .needsQuantization && $0.code != .doesNotFit }
    }

    public var hasErrors: Bool { findings.contains { $0.severity == .error } }
}

/// Everything the check found, Codable for JSON output.
public struct HardwareReport: Codable, Sendable, Equatable {
    public var model: ModelProfile
    public var quantization: Quantization
    public var smNumGPUs: Int
    public var tokenLimits: TokenLimits
    public var chosen: CandidateRow
    public var verdict: Verdict
    /// The chosen row's findings plus those about the request as a whole (token limits, checkpoint), errors first.
    public var findings: [Finding]
    /// The chosen instance at the requested quantization and SM_NUM_GPUS.
    public var estimate: MemoryEstimate
    public var pricePerHourUSD: Double?
    /// One row per candidate; the chosen instance's row is `chosen`.
    public var candidates: [CandidateRow]
    /// Cheapest priced instance where the model fits at the requested quantization, with SM_NUM_GPUS = its GPU count.
    public var cheapestFit: CandidateRow?
    /// Cheapest priced instance where it fits if quantization is allowed (may be the same as `cheapestFit`).
    public var cheapestFitWithQuantization: CandidateRow?
    /// Instances where it fits but the catalog has no price.
    public var unpricedFits: [String]
    public var rules: MemoryRules
    public var priceRegion: String
    /// Distinct price provenance of the rows shown, "source (date)".
    public var priceSources: [String]

    public var hasErrors: Bool { findings.contains { $0.severity == .error } }
}

/// The check itself: pure computation over a catalog and a model profile.
public enum HardwareCheck {
    /// Evaluates a request against the chosen instance and every candidate.
    ///
    /// - Parameters:
    ///   - candidates: instance types to compare; nil means the whole catalog.
    ///   - catalog: nil means the built-in catalog.
    public static func evaluate(
        _ request: HardwareRequest,
        candidates: [String]? = nil,
        catalog: InstanceCatalog? = nil,
        rules: MemoryRules = .standard
    ) throws -> HardwareReport {
        let catalog = try catalog ?? InstanceCatalog.builtIn()
        let model = try ModelProfile.resolve(request.model)
        let chosenInstance = try catalog.require(request.instanceType)
        let candidateInstances: [InstanceType]
        if let candidates {
            guard !candidates.isEmpty else { throw HardwareCheckError.noCandidates }
            candidateInstances = try candidates.map { try catalog.require($0) }
        } else {
            candidateInstances = catalog.instances
        }

        let chosen = assess(model: model, quantization: request.quantization, smNumGPUs: request.smNumGPUs,
                            tokens: request.tokenLimits.maxBatchTotalTokens, instance: chosenInstance, isChosen: true, rules: rules)

        // Other rows use SM_NUM_GPUS = the instance's GPU count: the configuration a user would pick there.
        var rows: [CandidateRow] = []
        var advice: [CandidateRow] = []
        var seen: Set<String> = []
        for instance in candidateInstances where seen.insert(instance.name).inserted {
            let natural = assess(model: model, quantization: request.quantization, smNumGPUs: instance.acceleratorCount,
                                 tokens: request.tokenLimits.maxBatchTotalTokens, instance: instance, isChosen: instance.name == chosenInstance.name, rules: rules)
            advice.append(natural)
            rows.append(instance.name == chosenInstance.name ? chosen : natural)
        }
        if !seen.contains(chosenInstance.name) {
            rows.insert(chosen, at: 0)
            advice.append(assess(model: model, quantization: request.quantization, smNumGPUs: chosenInstance.acceleratorCount,
                                 tokens: request.tokenLimits.maxBatchTotalTokens, instance: chosenInstance, isChosen: true, rules: rules))
        }

        let usable = advice.filter { !$0.isBlocked && $0.pricePerHourUSD != nil }
        let cheapestFit = cheapest(usable.filter { $0.verdict == .fits })
        let cheapestQuantized = cheapest(usable.filter { $0.verdict.fitsSomehow })
        let unpriced = advice.filter { !$0.isBlocked && $0.verdict.fitsSomehow && $0.pricePerHourUSD == nil }.map(\.instance.name)

        var findings = chosen.findings
        findings += requestFindings(request, model: model, instance: chosenInstance)
        if chosen.verdict != .fits, let better = cheapestFit, better.instance.name != chosenInstance.name {
            findings.append(Finding(.info, .alternative,
                "Cheapest instance where \(model.displayName) fits at \(request.quantization == .none ? "full precision" : request.quantization.rawValue): \(better.instance.name) (\(better.instance.acceleratorSummary), SM_NUM_GPUS=\(better.gpusPerReplica), \(formatPrice(better.pricePerHourUSD))/h est.)."))
        }
        if chosenInstance.pricePerHourUSD == nil {
            findings.append(Finding(.info, .priceUnknown,
                "The catalog has no price for \(chosenInstance.name): check the AWS SageMaker pricing page, or add price_usd_per_hour for it in a user catalog file."))
        }

        let shown = rows + [cheapestFit, cheapestQuantized].compactMap { $0 }
        var sources: [String] = []
        for row in shown where row.instance.pricePerHourUSD != nil {
            let text = (row.instance.priceSource ?? "unknown source") + (row.instance.priceDate.map { " (\($0))" } ?? "")
            if !sources.contains(text) { sources.append(text) }
        }

        return HardwareReport(
            model: model, quantization: request.quantization, smNumGPUs: request.smNumGPUs, tokenLimits: request.tokenLimits,
            chosen: chosen, verdict: chosen.verdict, findings: sortBySeverity(findings),
            estimate: chosen.verdict == .fits ? chosen.estimate : requestedEstimate(model, request, chosenInstance, rules),
            pricePerHourUSD: chosenInstance.pricePerHourUSD, candidates: rows,
            cheapestFit: cheapestFit, cheapestFitWithQuantization: cheapestQuantized, unpricedFits: unpriced,
            rules: rules, priceRegion: catalog.priceRegion, priceSources: sources)
    }

    /// The same, with the request spelled out as arguments.
    public static func evaluate(
        model: ModelSpec,
        quantization: Quantization = .none,
        smNumGPUs: Int,
        tokenLimits: TokenLimits,
        instanceType: String,
        candidates: [String]? = nil,
        catalog: InstanceCatalog? = nil,
        rules: MemoryRules = .standard
    ) throws -> HardwareReport {
        try evaluate(
            HardwareRequest(model: model, quantization: quantization, smNumGPUs: smNumGPUs, tokenLimits: tokenLimits, instanceType: instanceType),
            candidates: candidates, catalog: catalog, rules: rules)
    }

    // MARK: - One instance

    static func assess(
        model: ModelProfile, quantization: Quantization, smNumGPUs: Int, tokens: Int,
        instance: InstanceType, isChosen: Bool, rules: MemoryRules
    ) -> CandidateRow {
        var findings: [Finding] = []
        let count = instance.acceleratorCount
        let name = instance.name
        let shards: Int
        let unit: String

        switch instance.acceleratorKind {
        case .neuron:
            // The Neuron image shards over NeuronCores (HF_NUM_CORES); memory is counted per chip.
            shards = count
            unit = "Inferentia2 chip"
            let cores = count * (instance.neuronCoresPerAccelerator ?? 2)
            findings.append(Finding(.warning, .neuronImage,
                "\(name) has \(count) AWS Inferentia2 chip\(count == 1 ? "" : "s") (\(cores) NeuronCores), not GPUs: the tutorial's GPU image will not run there. Use the Hugging Face Neuron TGI image (optimum-neuron) with a model compiled for Neuron, and set HF_NUM_CORES=\(cores) instead of SM_NUM_GPUS."))
            if quantization != .none {
                findings.append(Finding(.error, .quantizationUnsupported,
                    "HF_MODEL_QUANTIZE=\(quantization.rawValue) uses CUDA kernels that do not exist on Inferentia2: serve the model at bf16 on \(name), or pick a GPU instance."))
            }
        case .gpu:
            unit = "GPU"
            if smNumGPUs < 1 {
                shards = count
                findings.append(Finding(.error, .smNumGPUsInvalid,
                    "SM_NUM_GPUS=\(smNumGPUs) is not a GPU count: set it to \(count), the number of GPUs on \(name)."))
            } else if smNumGPUs > count {
                // TGI cannot start more shards than there are GPUs; estimate on the GPUs that exist.
                shards = count
                findings.append(Finding(.error, .smNumGPUsExceedsInstance,
                    "SM_NUM_GPUS=\(smNumGPUs) but \(name) has only \(count) \(instance.acceleratorModel) GPU\(count == 1 ? "" : "s"): TGI cannot start \(smNumGPUs) shards and the endpoint fails after its start-up timeout. Set SM_NUM_GPUS=\(count), or pick an instance with \(smNumGPUs) GPUs. (Memory below is estimated on the \(count) GPU\(count == 1 ? "" : "s") it has.)"))
            } else {
                shards = smNumGPUs
                if smNumGPUs < count {
                    findings.append(Finding(.warning, .smNumGPUsBelowInstance,
                        "SM_NUM_GPUS=\(smNumGPUs) uses \(smNumGPUs) of the \(count) GPUs on \(name): the other \(count - smNumGPUs) are paid for and idle. Set SM_NUM_GPUS=\(count), or pick an instance with \(smNumGPUs) GPU\(smNumGPUs == 1 ? "" : "s")."))
                }
            }
            if let arch = model.architecture, shards > 1 {
                let valid = (1...count).filter { arch.attentionHeads % $0 == 0 && arch.kvHeads % $0 == 0 }.map(String.init).joined(separator: ", ")
                if arch.attentionHeads % shards != 0 {
                    findings.append(Finding(.error, .headsNotDivisible,
                        "\(model.displayName) has \(arch.attentionHeads) attention heads, which do not divide over \(shards) shards: TGI refuses to start. Use SM_NUM_GPUS in {\(valid)}."))
                }
                if arch.kvHeads % shards != 0 {
                    findings.append(Finding(.error, .kvHeadsNotDivisible,
                        "\(model.displayName) has \(arch.kvHeads) KV heads, which do not divide over \(shards) shards: TGI refuses to start. Use SM_NUM_GPUS in {\(valid)}."))
                }
            }
            if quantization == .fp8, !instance.hasNativeFP8 {
                findings.append(Finding(.warning, .fp8NotNative,
                    "HF_MODEL_QUANTIZE=fp8 on \(instance.acceleratorModel) (compute capability \(instance.computeCapability ?? "unknown")): FP8 tensor cores start at 8.9 (L4, L40S, H100). Older TGI images refuse fp8 here and newer ones emulate it more slowly; prefer eetq on this GPU."))
            }
        }

        if model.architecture == nil {
            findings.append(Finding(.warning, .kvCacheUnknown,
                "The KV cache for \(model.displayName) is not counted: its profile has no architecture. Memory is a lower bound; give layers, attention heads, KV heads and hidden size from its config.json."))
        }

        let requested = MemoryEstimate.compute(model: model, quantization: quantization, shards: shards, kvCacheTokens: tokens,
                                               memoryPerAcceleratorGB: instance.memoryPerAcceleratorGB, rules: rules, unit: unit)
        var verdict = Verdict.doesNotFit
        var rowQuantization = quantization
        var estimate = requested
        var tried: [(QuantizationChoice, MemoryEstimate)] = []

        if requested.fits {
            verdict = .fits
        } else if instance.acceleratorKind == .gpu {
            // The lightest change first: 8-bit, then 4-bit, each only if lighter than what was asked for.
            for choice in [QuantizationChoice.eightBit(for: instance), .fourBit] where choice.bitsPerWeight < quantization.bitsPerWeight {
                let attempt = MemoryEstimate.compute(model: model, quantization: choice.options[0], shards: shards, kvCacheTokens: tokens,
                                                     memoryPerAcceleratorGB: instance.memoryPerAcceleratorGB, rules: rules, unit: unit)
                tried.append((choice, attempt))
                if attempt.fits {
                    verdict = .fitsWithQuantization(choice)
                    rowQuantization = choice.options[0]
                    estimate = attempt
                    break
                }
            }
        }

        let need = "\(formatGB(requested.perGPUTotalGB)) GB per \(unit) of \(formatGB(requested.usablePerGPUGB)) GB usable"
        let asked = quantization == .none ? "unquantized" : "with HF_MODEL_QUANTIZE=\(quantization.rawValue)"
        switch verdict {
        case .fits:
            findings.append(Finding(.info, .fits,
                "\(model.displayName) fits \(name) \(asked) on \(shards) \(unit)\(shards == 1 ? "" : "s"): \(need) (\(formatGB(requested.headroomPerGPUGB)) GB spare)."))
        case let .fitsWithQuantization(choice):
            var text = "\(model.displayName) does not fit \(name) \(asked): \(need). Lightest change that fits: HF_MODEL_QUANTIZE=\(choice.options.map(\.rawValue).joined(separator: " or ")) (\(choice.bitsPerWeight)-bit, \(formatGB(estimate.perGPUTotalGB)) GB per \(unit))"
            if choice.options.contains(where: \.needsPrequantizedCheckpoint) {
                text += " with a matching pre-quantized checkpoint as HF_MODEL_ID"
            }
            text += "."
            for (skipped, attempt) in tried where skipped.bitsPerWeight != choice.bitsPerWeight {
                text += " \(skipped.bitsPerWeight)-bit (\(skipped.options[0].rawValue)) would need \(formatGB(attempt.perGPUTotalGB)) GB: \(formatGB(-attempt.headroomPerGPUGB)) GB short."
            }
            findings.append(Finding(.error, .needsQuantization, text))
        case .doesNotFit:
            var text = "\(model.displayName) does not fit \(name) \(asked): \(need)."
            if let (choice, attempt) = tried.last {
                text += " Even at \(choice.bitsPerWeight)-bit (\(choice.options[0].rawValue)) it needs \(formatGB(attempt.perGPUTotalGB)) GB per \(unit)."
            }
            text += " Pick an instance with more \(instance.acceleratorKind == .gpu ? "GPU" : "accelerator") memory."
            findings.append(Finding(.error, .doesNotFit, text))
        }

        return CandidateRow(instance: instance, isChosen: isChosen, gpusPerReplica: instance.acceleratorKind == .gpu ? max(smNumGPUs, 0) : count,
                            quantization: rowQuantization, verdict: verdict, estimate: estimate, findings: sortBySeverity(findings))
    }

    // MARK: - The request as a whole

    /// Findings that hold on every instance: token limits, checkpoint format, slow kernels.
    static func requestFindings(_ request: HardwareRequest, model: ModelProfile, instance: InstanceType) -> [Finding] {
        var findings: [Finding] = []
        let limits = request.tokenLimits
        let named = [("MAX_INPUT_LENGTH", limits.maxInputLength), ("MAX_TOTAL_TOKENS", limits.maxTotalTokens), ("MAX_BATCH_TOTAL_TOKENS", limits.maxBatchTotalTokens)]
        let invalid = named.filter { $0.1 < 1 }
        for (name, value) in invalid {
            findings.append(Finding(.error, .tokenLimitInvalid, "\(name)=\(value) must be a positive number of tokens (the tutorial uses 2048 / 4096 / 8192)."))
        }
        if invalid.isEmpty {
            if limits.maxInputLength >= limits.maxTotalTokens {
                findings.append(Finding(.error, .inputNotBelowTotal,
                    "MAX_INPUT_LENGTH (\(limits.maxInputLength)) must be less than MAX_TOTAL_TOKENS (\(limits.maxTotalTokens)): the total counts the prompt plus the generated tokens, so nothing could be generated and TGI refuses to start. Raise MAX_TOTAL_TOKENS above \(limits.maxInputLength) or lower MAX_INPUT_LENGTH."))
            }
            if limits.maxTotalTokens > limits.maxBatchTotalTokens {
                findings.append(Finding(.error, .totalExceedsBatch,
                    "MAX_TOTAL_TOKENS (\(limits.maxTotalTokens)) exceeds MAX_BATCH_TOTAL_TOKENS (\(limits.maxBatchTotalTokens)): one full-length request would not fit in a batch and TGI refuses to start. Raise MAX_BATCH_TOTAL_TOKENS to at least \(limits.maxTotalTokens) or lower MAX_TOTAL_TOKENS."))
            }
        }
        let q = request.quantization
        if q.needsPrequantizedCheckpoint, model.origin == .builtIn {
            findings.append(Finding(.error, .prequantizedCheckpoint,
                "HF_MODEL_QUANTIZE=\(q.rawValue) loads weights already quantized with \(q.rawValue.uppercased()), but \(model.id) is the bf16 release: TGI fails while loading it. Set HF_MODEL_ID to a \(q.rawValue.uppercased())-quantized build of the model (a repository named like '...-\(q.rawValue.uppercased())'), or use eetq / bitsandbytes-nf4, which quantize on load."))
        }
        if q == .bitsandbytes || q == .bitsandbytesNF4 {
            findings.append(Finding(.info, .slowQuantization,
                "HF_MODEL_QUANTIZE=\(q.rawValue) quantizes on load but generates several times slower than \(q == .bitsandbytes ? "eetq or fp8" : "awq or gptq"); fine for a trial, costly for serving."))
        }
        return findings
    }

    static func requestedEstimate(_ model: ModelProfile, _ request: HardwareRequest, _ instance: InstanceType, _ rules: MemoryRules) -> MemoryEstimate {
        let shards = instance.acceleratorKind == .neuron || request.smNumGPUs < 1
            ? instance.acceleratorCount
            : min(request.smNumGPUs, instance.acceleratorCount)
        return MemoryEstimate.compute(model: model, quantization: request.quantization, shards: shards,
                                      kvCacheTokens: request.tokenLimits.maxBatchTotalTokens,
                                      memoryPerAcceleratorGB: instance.memoryPerAcceleratorGB, rules: rules,
                                      unit: instance.acceleratorKind == .gpu ? "GPU" : "Inferentia2 chip")
    }

    static func cheapest(_ rows: [CandidateRow]) -> CandidateRow? {
        rows.min { a, b in
            let pa = a.pricePerHourUSD ?? .infinity, pb = b.pricePerHourUSD ?? .infinity
            return pa != pb ? pa < pb : a.instance.name < b.instance.name
        }
    }

    static func sortBySeverity(_ findings: [Finding]) -> [Finding] {
        // Stable: keeps the order findings were made in within one severity.
        findings.enumerated().sorted { a, b in
            a.element.severity != b.element.severity ? a.element.severity < b.element.severity : a.offset < b.offset
        }.map(\.element)
    }
}

/// "$7.09", "n/a"
func formatPrice(_ price: Double?) -> String {
    guard let price else { return "n/a" }
    var text = String(format: "%.3f", price)
    // Keep what the source gave (37.688) but not trailing zeros beyond cents (7.090 -> 7.09).
    if text.hasSuffix("0") { text.removeLast() }
    return "$" + text
}
