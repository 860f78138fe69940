import Foundation

/// TGI's three token limits, as its environment variables name them.
public struct TokenLimits: Codable, Sendable, Equatable {
    /// `MAX_INPUT_LENGTH`: longest prompt.
    public var maxInputLength: Int
    /// `MAX_TOTAL_TOKENS`: prompt plus generated tokens of one request.
    public var maxTotalTokens: Int
    /// `MAX_BATCH_TOTAL_TOKENS`: tokens of all requests in a batch; sizes the KV cache.
    public var maxBatchTotalTokens: Int

    public init(maxInputLength: Int, maxTotalTokens: Int, maxBatchTotalTokens: Int) {
        self.maxInputLength = maxInputLength
        self.maxTotalTokens = maxTotalTokens
        self.maxBatchTotalTokens = maxBatchTotalTokens
    }

    /// The tutorial's values: 2048 / 4096 / 8192.
    public static let tutorial = TokenLimits(maxInputLength: 2048, maxTotalTokens: 4096, maxBatchTotalTokens: 8192)
}

/// The rules of thumb behind every estimate, stated so the output can say them.
public struct MemoryRules: Codable, Sendable, Equatable {
    /// Share of an accelerator's nominal memory a model can use: the driver, CUDA and fragmentation take the rest
    /// (an A10G sold as 24 GB shows ~22.5 GiB to CUDA).
    public var usableFraction: Double
    /// Activations, CUDA graphs and allocator slack, as a share of weights + KV cache on each GPU.
    public var overheadFraction: Double
    /// Fixed cost per GPU: CUDA context, cuBLAS workspaces, NCCL buffers.
    public var overheadPerGPUGB: Double
    /// KV cache precision: TGI keeps it in fp16/bf16 unless told otherwise.
    public var kvBytesPerValue: Double

    public init(usableFraction: Double = 0.90, overheadFraction: Double = 0.10, overheadPerGPUGB: Double = 1.0, kvBytesPerValue: Double = 2) {
        self.usableFraction = usableFraction
        self.overheadFraction = overheadFraction
        self.overheadPerGPUGB = overheadPerGPUGB
        self.kvBytesPerValue = kvBytesPerValue
    }

    public static let standard = MemoryRules()

    /// The rules as sentences, for the report.
    public var statements: [String] {
        [
            "GB = 1e9 bytes throughout; accelerator sizes are the vendor's nominal GB.",
            "usable memory per accelerator = \(percent(usableFraction)) of nominal (driver and CUDA reserve the rest: a \"24 GB\" A10G shows ~22.5 GiB).",
            "weights: bf16/fp16 2 B per parameter, 8-bit (bitsandbytes, eetq, fp8) 1 B, 4-bit (gptq, awq, bitsandbytes-nf4) 0.5 B + 4% for group scales/zeros; embeddings and lm_head stay 16-bit when quantizing (TGI leaves them unquantized).",
            "KV cache = 2 (K and V) x layers x KV heads x head dim x \(formatNumber(kvBytesPerValue)) B x MAX_BATCH_TOTAL_TOKENS.",
            "tensor parallel over SM_NUM_GPUS: weights and KV cache divide evenly; overhead per GPU = \(percent(overheadFraction)) of its weights + KV, plus \(formatNominal(overheadPerGPUGB)) GB (CUDA context, activations, NCCL buffers).",
        ]
    }
}

/// The memory a model needs at one quantization, sharded over some accelerators, with the arithmetic spelled out.
public struct MemoryEstimate: Codable, Sendable, Equatable {
    public var quantization: Quantization
    public var shards: Int
    public var parameters: Double
    /// Embedding and lm_head parameters kept at 16-bit (0 when unquantized: everything is 16-bit anyway).
    public var sixteenBitParameters: Double
    public var weightsGB: Double
    public var kvCacheTokens: Int
    /// Nil when the model's architecture is unknown.
    public var kvCacheGB: Double?
    public var perGPUWeightsGB: Double
    public var perGPUKVCacheGB: Double
    public var perGPUOverheadGB: Double
    public var perGPUTotalGB: Double
    public var nominalPerGPUGB: Double
    public var usablePerGPUGB: Double
    /// What all shards together need, overhead included.
    public var totalGB: Double
    public var fits: Bool
    /// Usable minus needed, per GPU; negative when it does not fit.
    public var headroomPerGPUGB: Double { usablePerGPUGB - perGPUTotalGB }
    public var arithmetic: [String]

    /// - Parameters:
    ///   - shards: accelerators the model is split over (tensor parallel degree), at least 1.
    ///   - kvCacheTokens: tokens the KV cache holds, `MAX_BATCH_TOTAL_TOKENS`.
    ///   - unit: what a shard runs on, for the text ("GPU", "Inferentia2 chip").
    public static func compute(
        model: ModelProfile,
        quantization: Quantization,
        shards requestedShards: Int,
        kvCacheTokens: Int,
        memoryPerAcceleratorGB: Double,
        rules: MemoryRules = .standard,
        unit: String = "GPU"
    ) -> MemoryEstimate {
        let shards = max(1, requestedShards)
        let gb = 1e9
        var lines: [String] = []

        // Weights.
        let sixteenBit: Double
        let weightsBytes: Double
        if quantization == .none {
            sixteenBit = 0
            weightsBytes = model.parameters * 2
            lines.append("weights: \(formatParams(model.parameters)) params x 2 B (bf16) = \(formatGB(weightsBytes / gb)) GB")
        } else {
            sixteenBit = min(model.architecture?.embeddingParameters ?? 0, model.parameters)
            let quantized = model.parameters - sixteenBit
            let scale = 1 + quantization.scaleOverheadFraction
            weightsBytes = quantized * quantization.bytesPerWeight * scale + sixteenBit * 2
            var text = "weights: \(formatParams(quantized)) params x \(formatNumber(quantization.bytesPerWeight)) B (\(quantization.rawValue) \(quantization.bitsPerWeight)-bit)"
            if quantization.scaleOverheadFraction > 0 { text += " x \(formatNumber(scale)) (group scales/zeros)" }
            if sixteenBit > 0 { text += " + \(formatParams(sixteenBit)) embedding/lm_head params x 2 B (kept 16-bit)" }
            text += " = \(formatGB(weightsBytes / gb)) GB"
            lines.append(text)
        }

        // KV cache.
        var kvBytes: Double?
        if let arch = model.architecture {
            let bytes = 2 * Double(arch.layers) * Double(arch.kvHeads) * Double(arch.headDim) * rules.kvBytesPerValue * Double(kvCacheTokens)
            kvBytes = bytes
            lines.append("KV cache: 2 (K,V) x \(arch.layers) layers x \(arch.kvHeads) KV heads x \(arch.headDim) head dim x \(formatNumber(rules.kvBytesPerValue)) B x \(kvCacheTokens) tokens (MAX_BATCH_TOTAL_TOKENS) = \(formatGB(bytes / gb)) GB")
        } else {
            lines.append("KV cache: not estimated: the profile has no architecture (set layers, attention heads, KV heads, hidden size); the total below is a lower bound")
        }

        // Sharding and overhead.
        let perWeights = weightsBytes / gb / Double(shards)
        let perKV = (kvBytes ?? 0) / gb / Double(shards)
        let base = perWeights + perKV
        let overhead = rules.overheadFraction * base + rules.overheadPerGPUGB
        let perTotal = base + overhead
        let usable = rules.usableFraction * memoryPerAcceleratorGB
        let fits = perTotal <= usable

        let plural = shards == 1 ? unit : unit + "s"
        lines.append("per \(unit), tensor parallel over \(shards) \(plural): weights \(formatGB(weightsBytes / gb)) / \(shards) = \(formatGB(perWeights)) GB + KV \(formatGB((kvBytes ?? 0) / gb)) / \(shards) = \(formatGB(perKV)) GB -> \(formatGB(base)) GB")
        lines.append("overhead per \(unit): \(percent(rules.overheadFraction)) x \(formatGB(base)) GB + \(formatGB(rules.overheadPerGPUGB)) GB (CUDA context, activations, NCCL) = \(formatGB(overhead)) GB")
        let outcome = fits
            ? "fits, \(formatGB(usable - perTotal)) GB spare"
            : "does not fit, \(formatGB(perTotal - usable)) GB short"
        lines.append("needed per \(unit): \(formatGB(perTotal)) GB; usable: \(percent(rules.usableFraction)) x \(formatNominal(memoryPerAcceleratorGB)) GB = \(formatGB(usable)) GB -> \(outcome)")

        return MemoryEstimate(
            quantization: quantization, shards: shards, parameters: model.parameters, sixteenBitParameters: sixteenBit,
            weightsGB: weightsBytes / gb, kvCacheTokens: kvCacheTokens, kvCacheGB: kvBytes.map { $0 / gb },
            perGPUWeightsGB: perWeights, perGPUKVCacheGB: perKV, perGPUOverheadGB: overhead, perGPUTotalGB: perTotal,
            nominalPerGPUGB: memoryPerAcceleratorGB, usablePerGPUGB: usable, totalGB: perTotal * Double(shards),
            fits: fits, arithmetic: lines)
    }
}

// MARK: - Number formatting shared by the estimate and the rendering

/// "21.60": computed sizes, always two decimals.
func formatGB(_ value: Double) -> String {
    String(format: "%.2f", value)
}

/// "24", "22.5": sizes as a catalog states them.
func formatNominal(_ value: Double) -> String {
    formatNumber(value)
}

/// "70.55e9"
func formatParams(_ value: Double) -> String {
    String(format: "%.2fe9", value / 1e9)
}

/// "0.5", "2", "1.04"
func formatNumber(_ value: Double) -> String {
    if value == value.rounded() { return String(Int(value)) }
    var text = String(format: "%.3f", value)
    while text.hasSuffix("0") { text.removeLast() }
    return text
}

/// "90%"
func percent(_ fraction: Double) -> String {
    formatNumber(fraction * 100) + "%"
}
