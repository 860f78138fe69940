/// A value of TGI's `HF_MODEL_QUANTIZE`, with what it costs in memory.
public enum Quantization: String, Codable, Sendable, CaseIterable, Equatable {
    /// Unquantized: the checkpoint's bf16/fp16 weights.
    case none
    /// LLM.int8(): 8-bit on load, works everywhere, slow.
    case bitsandbytes
    /// 4-bit NF4 on load: no special checkpoint, slow.
    case bitsandbytesNF4 = "bitsandbytes-nf4"
    /// 4-bit; needs a GPTQ-quantized checkpoint.
    case gptq
    /// 4-bit; needs an AWQ-quantized checkpoint.
    case awq
    /// 8-bit on load with fast kernels on Ampere and later.
    case eetq
    /// 8-bit float; native on Ada and Hopper (compute capability 8.9+).
    case fp8

    /// Parses `HF_MODEL_QUANTIZE`; unset or empty means `.none`.
    public init(hfModelQuantize value: String?) throws {
        let text = (value ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        if text.isEmpty || text == "none" { self = .none; return }
        guard let parsed = Quantization(rawValue: text) else {
            throw HardwareCheckError.invalidSetting(
                name: "HF_MODEL_QUANTIZE", value: value ?? "",
                expected: "one of " + Quantization.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = parsed
    }

    public var bitsPerWeight: Int {
        switch self {
        case .none: 16
        case .bitsandbytes, .eetq, .fp8: 8
        case .bitsandbytesNF4, .gptq, .awq: 4
        }
    }

    /// Bytes per quantized weight, before scales.
    public var bytesPerWeight: Double { Double(bitsPerWeight) / 8 }

    /// Extra bytes for scales and zero points, as a fraction of the quantized weights.
    /// 4-bit: one fp16 scale and a 4-bit zero per group of 128 weights is ~0.16 bit per weight, about 4%.
    /// 8-bit methods keep one scale per output channel: negligible.
    public var scaleOverheadFraction: Double { bitsPerWeight == 4 ? 0.04 : 0 }

    /// GPTQ and AWQ load pre-quantized weights; TGI does not produce them from a bf16 checkpoint.
    public var needsPrequantizedCheckpoint: Bool { self == .gptq || self == .awq }

    /// How the table names it.
    public var label: String {
        switch self {
        case .none: "- (bf16)"
        default: rawValue
        }
    }
}

/// The lightest quantization that makes a model fit: a precision and the `HF_MODEL_QUANTIZE` values that give it.
public struct QuantizationChoice: Codable, Sendable, Equatable {
    public var bitsPerWeight: Int
    /// Best first; all share the memory estimate.
    public var options: [Quantization]

    public init(bitsPerWeight: Int, options: [Quantization]) {
        self.bitsPerWeight = bitsPerWeight
        self.options = options
    }

    /// "gptq / awq (4-bit)"
    public var label: String {
        options.map(\.rawValue).joined(separator: " / ") + " (\(bitsPerWeight)-bit)"
    }

    /// The 8-bit options worth suggesting: fp8 where the GPU has FP8 tensor cores, else eetq, with bitsandbytes as the slow fallback.
    static func eightBit(for instance: InstanceType) -> QuantizationChoice {
        instance.hasNativeFP8
            ? QuantizationChoice(bitsPerWeight: 8, options: [.fp8, .eetq])
            : QuantizationChoice(bitsPerWeight: 8, options: [.eetq, .bitsandbytes])
    }

    /// The tutorial's 4-bit advice, in its order.
    static let fourBit = QuantizationChoice(bitsPerWeight: 4, options: [.gptq, .awq])
}
