import Foundation

/// A flat, JSON-friendly digest of a report, for publishing into session state:
/// strings and numbers only, snake_case keys, sizes in GB (1e9 bytes) rounded to 0.01.
public struct HardwareSummary: Codable, Sendable, Equatable {
    public var modelID: String
    public var modelParamsBillions: Double
    public var instance: String
    public var accelerator: String
    public var acceleratorsOnInstance: Int
    public var smNumGPUs: Int
    public var quantization: String
    /// "fits", "fits_with_quantization", "does_not_fit"
    public var verdict: String
    /// "gptq / awq (4-bit)" when the verdict is fits_with_quantization.
    public var suggestedQuantization: String?
    public var weightsGB: Double
    /// Nil when the architecture is unknown.
    public var kvCacheGB: Double?
    public var perGPUOverheadGB: Double
    public var perGPUGB: Double
    public var usablePerGPUGB: Double
    public var totalGB: Double
    /// Per-GPU need at the suggested quantization.
    public var suggestedPerGPUGB: Double?
    public var priceUSDPerHour: Double?
    /// Always true: catalog prices are estimates, not AWS quotes.
    public var priceIsEstimate: Bool
    public var priceSource: String?
    public var priceDate: String?
    public var errors: Int
    public var warnings: Int
    public var firstError: String?
    public var cheapestFit: String?
    public var cheapestFitPriceUSDPerHour: Double?
    public var cheapestFitWithQuantization: String?
    public var cheapestFitWithQuantizationPriceUSDPerHour: Double?

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id"
        case modelParamsBillions = "model_params_billions"
        case instance
        case accelerator
        case acceleratorsOnInstance = "accelerators_on_instance"
        case smNumGPUs = "sm_num_gpus"
        case quantization
        case verdict
        case suggestedQuantization = "suggested_quantization"
        case weightsGB = "weights_gb"
        case kvCacheGB = "kv_cache_gb"
        case perGPUOverheadGB = "per_gpu_overhead_gb"
        case perGPUGB = "per_gpu_gb"
        case usablePerGPUGB = "usable_per_gpu_gb"
        case totalGB = "total_gb"
        case suggestedPerGPUGB = "suggested_per_gpu_gb"
        case priceUSDPerHour = "price_usd_per_hour"
        case priceIsEstimate = "price_is_estimate"
        case priceSource = "price_source"
        case priceDate = "price_date"
        case errors
        case warnings
        case firstError = "first_error"
        case cheapestFit = "cheapest_fit"
        case cheapestFitPriceUSDPerHour = "cheapest_fit_price_usd_per_hour"
        case cheapestFitWithQuantization = "cheapest_fit_with_quantization"
        case cheapestFitWithQuantizationPriceUSDPerHour = "cheapest_fit_with_quantization_price_usd_per_hour"
    }

    /// Sorted keys, so the same report always publishes the same bytes.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}

extension HardwareReport {
    public var summary: HardwareSummary {
        let instance = chosen.instance
        let estimate = self.estimate
        var suggested: String?
        var suggestedPerGPU: Double?
        if case let .fitsWithQuantization(choice) = verdict {
            suggested = choice.label
            suggestedPerGPU = round2(chosen.estimate.perGPUTotalGB)
        }
        let cheapestQuantizedName = cheapestFitWithQuantization.map { row in
            if case let .fitsWithQuantization(choice) = row.verdict { return "\(row.instance.name) (\(choice.label))" }
            return row.instance.name
        }
        return HardwareSummary(
            modelID: model.id,
            modelParamsBillions: round2(model.parametersBillions),
            instance: instance.name,
            accelerator: instance.acceleratorSummary,
            acceleratorsOnInstance: instance.acceleratorCount,
            smNumGPUs: smNumGPUs,
            quantization: quantization.rawValue,
            verdict: verdict.code,
            suggestedQuantization: suggested,
            weightsGB: round2(estimate.weightsGB),
            kvCacheGB: estimate.kvCacheGB.map(round2),
            perGPUOverheadGB: round2(estimate.perGPUOverheadGB),
            perGPUGB: round2(estimate.perGPUTotalGB),
            usablePerGPUGB: round2(estimate.usablePerGPUGB),
            totalGB: round2(estimate.totalGB),
            suggestedPerGPUGB: suggestedPerGPU,
            priceUSDPerHour: pricePerHourUSD,
            priceIsEstimate: true,
            priceSource: instance.pricePerHourUSD == nil ? nil : instance.priceSource,
            priceDate: instance.pricePerHourUSD == nil ? nil : instance.priceDate,
            errors: findings.filter { $0.severity == .error }.count,
            warnings: findings.filter { $0.severity == .warning }.count,
            firstError: findings.first { $0.severity == .error }?.message,
            cheapestFit: cheapestFit?.instance.name,
            cheapestFitPriceUSDPerHour: cheapestFit?.pricePerHourUSD,
            cheapestFitWithQuantization: cheapestQuantizedName,
            cheapestFitWithQuantizationPriceUSDPerHour: cheapestFitWithQuantization?.pricePerHourUSD)
    }
}

private func round2(_ value: Double) -> Double {
    (value * 100).rounded() / 100
}
