/// Whether a model fits an instance, and if only with quantization, the lightest one that does.
public enum Verdict: Sendable, Equatable {
    /// Fits at the requested quantization (unquantized unless `HF_MODEL_QUANTIZE` says otherwise).
    case fits
    /// Fits only after this change.
    case fitsWithQuantization(QuantizationChoice)
    /// Does not fit even at 4-bit, or needs quantization the accelerator cannot run.
    case doesNotFit

    /// Stable string for session state and JSON: "fits", "fits_with_quantization", "does_not_fit".
    public var code: String {
        switch self {
        case .fits: "fits"
        case .fitsWithQuantization: "fits_with_quantization"
        case .doesNotFit: "does_not_fit"
        }
    }

    /// "fits", "needs gptq / awq (4-bit)", "does not fit".
    public var label: String {
        switch self {
        case .fits: "fits"
        case let .fitsWithQuantization(choice): "needs \(choice.label)"
        case .doesNotFit: "does not fit"
        }
    }

    public var fitsSomehow: Bool { self != .doesNotFit }
}

extension Verdict: Codable {
    private enum CodingKeys: String, CodingKey { case verdict, quantization }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .verdict) {
        case "fits": self = .fits
        case "fits_with_quantization": self = .fitsWithQuantization(try c.decode(QuantizationChoice.self, forKey: .quantization))
        case "does_not_fit": self = .doesNotFit
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .verdict, in: c, debugDescription: "unknown verdict '\(other)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .verdict)
        if case let .fitsWithQuantization(choice) = self { try c.encode(choice, forKey: .quantization) }
    }
}

public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case error, warning, info

    private var rank: Int {
        switch self {
        case .error: 0
        case .warning: 1
        case .info: 2
        }
    }

    /// Errors sort first.
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// One thing a user would otherwise learn after a 15-minute deploy.
public struct Finding: Codable, Sendable, Equatable {
    public enum Code: String, Codable, Sendable, Equatable {
        case smNumGPUsInvalid = "sm_num_gpus_invalid"
        case smNumGPUsExceedsInstance = "sm_num_gpus_exceeds_instance"
        case smNumGPUsBelowInstance = "sm_num_gpus_below_instance"
        case smNumGPUsIgnoredOnNeuron = "sm_num_gpus_ignored_on_neuron"
        case tokenLimitInvalid = "token_limit_invalid"
        case inputNotBelowTotal = "input_not_below_total"
        case totalExceedsBatch = "total_exceeds_batch"
        case headsNotDivisible = "heads_not_divisible"
        case kvHeadsNotDivisible = "kv_heads_not_divisible"
        case fits
        case needsQuantization = "needs_quantization"
        case doesNotFit = "does_not_fit"
        case kvCacheUnknown = "kv_cache_unknown"
        case neuronImage = "neuron_image"
        case quantizationUnsupported = "quantization_unsupported"
        case prequantizedCheckpoint = "prequantized_checkpoint"
        case fp8NotNative = "fp8_not_native"
        case slowQuantization = "slow_quantization"
        case priceUnknown = "price_unknown"
        case alternative
    }

    public var severity: Severity
    public var code: Code
    /// What is wrong and what to do about it.
    public var message: String

    public init(_ severity: Severity, _ code: Code, _ message: String) {
        self.severity = severity
        self.code = code
        self.message = message
    }
}
