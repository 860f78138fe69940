import CellbookEngine
import Foundation
import HardwareFit
import PlaybookModel

/// The tutorial's step 2 as a check that runs before anything is deployed: does the model
/// fit the instance, with what quantization, on how many GPUs, at what price per hour.
/// Evaluates the playbook's SageMaker configuration on every target (no network, no
/// credentials); on the local target it also checks this machine against the local model.
public struct HardwareCheckCell: CellKind {
    public static let schema = KindSchema(
        name: "hardware-check",
        summary: "Checks that the model fits the instance (and this machine) before deploying",
        inputs: [
            .init("model_id", .string, required: true, "HF_MODEL_ID of the model"),
            .init("instance_type", .string, required: true, "the SageMaker instance type"),
            .init("env", .object, "the container environment: SM_NUM_GPUS, MAX_INPUT_LENGTH, MAX_TOTAL_TOKENS, MAX_BATCH_TOTAL_TOKENS, HF_MODEL_QUANTIZE"),
            .init("parameters_billions", .number, "the parameter count, for a model id cellbook does not know"),
            .init("candidates", .list, "instance types to compare (default: the whole catalog)"),
            .init("catalog_file", .string, "a JSON file of extra or overriding instance types (same schema as the built-in catalog)"),
            .init("warn_only", .bool, "report a failing verdict without failing the cell"),
            .init("local_model_path", .string, "local target: the model file to check against this machine"),
            .init("local_model_shape", .object, "local target: layers, kv_heads, head_dim, context_tokens of the local model"),
        ],
        outputs: ["verdict", "fits", "quantization", "gpus", "per_gpu_gb", "usable_per_gpu_gb", "weights_gb", "kv_cache_gb",
                  "price_usd_per_hour", "price_is_estimate", "cheapest_fit", "cheapest_fit_price_usd_per_hour",
                  "cheapest_fit_quantized", "errors", "warnings", "local_verdict", "local_needed_gb", "local_available_gb"])

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let console = context.console
        let modelID = try context.require("model_id")
        let instance = try context.require("instance_type")
        var env = (context.inputs["env"]?.objectValue ?? [:]).compactMapValues { $0.isNull ? nil : $0.interpolationText }
        env["HF_MODEL_ID"] = modelID
        let report: HardwareReport
        do {
            var catalog = try InstanceCatalog.builtIn()
            if let file = context.string("catalog_file"), !file.isEmpty {
                try catalog.merge(userFileAt: URL(fileURLWithPath: file))
            }
            var request = try HardwareRequest(environment: env, instanceType: instance)
            if let billions = context.double("parameters_billions") {
                request.model = .profile(try ModelProfile(id: modelID, parametersBillions: billions))
            }
            let candidates = context.inputs["candidates"]?.arrayValue?.compactMap(\.stringValue)
            report = try HardwareCheck.evaluate(request, candidates: candidates, catalog: catalog)
        } catch let e as CellFailure {
            throw e
        } catch {
            throw CellFailure("the hardware check cannot evaluate this configuration: \(error)")
        }
        console.line(report.renderText())
        let s = report.summary
        var out: [String: Value] = [
            "verdict": .string(s.verdict),
            "fits": .bool(s.verdict != "does_not_fit" && !report.hasErrors),
            "quantization": .string(s.suggestedQuantization ?? s.quantization),
            "gpus": .int(s.smNumGPUs),
            "per_gpu_gb": .double(s.suggestedPerGPUGB ?? s.perGPUGB),
            "usable_per_gpu_gb": .double(s.usablePerGPUGB),
            "weights_gb": .double(s.weightsGB),
            "kv_cache_gb": s.kvCacheGB.map(Value.double) ?? .null,
            "price_usd_per_hour": s.priceUSDPerHour.map(Value.double) ?? .null,
            "price_is_estimate": .bool(s.priceIsEstimate),
            "cheapest_fit": s.cheapestFit.map(Value.string) ?? .null,
            "cheapest_fit_price_usd_per_hour": s.cheapestFitPriceUSDPerHour.map(Value.double) ?? .null,
            "cheapest_fit_quantized": s.cheapestFitWithQuantization.map(Value.string) ?? .null,
            "errors": .int(s.errors),
            "warnings": .int(s.warnings),
            "local_verdict": .null, "local_needed_gb": .null, "local_available_gb": .null,
        ]

        var localProblem: String?
        if (context.setting("runtime")?.stringValue ?? "local") == "local",
            let path = context.string("local_model_path"), !path.isEmpty {
            let machine = LocalMachineProbe.probe()  // finds nvidia-smi on PATH itself
            let shape = context.inputs["local_model_shape"]?.objectValue ?? [:]
            let fit = try machine.fit(
                ggufAt: URL(fileURLWithPath: path),
                shape: GGUFShape(layers: shape["layers"]?.intValue ?? 32, contextTokens: shape["context_tokens"]?.intValue ?? 4096,
                                 kvHeads: shape["kv_heads"]?.intValue ?? 8, headDim: shape["head_dim"]?.intValue ?? 128))
            console.line()
            console.line("This machine (local target): \(machine.cores) cores, "
                + String(format: "%.1f GB memory (%.1f GB available)", machine.memoryTotalGB, machine.memoryAvailableGB ?? machine.memoryTotalGB)
                + ", GPUs: \(machine.gpus.isEmpty ? "none (\(machine.gpuProbe))" : machine.gpus.map(\.name).joined(separator: ", "))")
            console.line(fit.renderText())
            out["local_verdict"] = .string(fit.verdict.code)
            out["local_needed_gb"] = .double(fit.neededGB)
            out["local_available_gb"] = .double(fit.availableGB)
            if fit.verdict.code == "does_not_fit" { localProblem = "the local model needs \(String(format: "%.2f", fit.neededGB)) GB but this machine has \(String(format: "%.2f", fit.availableGB)) GB available" }
        }

        let failing = report.hasErrors || s.verdict == "does_not_fit" || localProblem != nil
        if failing && !(context.bool("warn_only") ?? false) {
            let reason = localProblem ?? s.firstError ?? "\(modelID) does not fit \(instance)"
            let nearest = s.cheapestFit.map { "nearest instance that works: \($0)" + (s.cheapestFitPriceUSDPerHour.map { String(format: " at $%.2f/h (estimate)", $0) } ?? "") }
                ?? s.cheapestFitWithQuantization.map { "nearest instance that works: \($0)" } ?? "no instance in the catalog fits"
            throw CellFailure("hardware check failed: \(reason)",
                              detail: "\(nearest)\nSet `warn_only: true` on this cell to continue anyway.")
        }
        return out
    }
}
