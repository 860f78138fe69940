import CellbookEngine
import CellbookHTTP
import Foundation
import PlaybookModel

/// The tutorial's step 3: model, endpoint configuration, endpoint, then wait until InService.
/// Its result stays valid only while the endpoint serves: a cached deploy is reused only if
/// the target confirms it is alive, and is deployed again otherwise.
public struct DeployCell: CellKind {
    public static let schema = KindSchema(
        name: "deploy",
        summary: "Deploys the model to an endpoint and waits until it serves",
        inputs: [
            .init("endpoint_name", .string, required: true, "endpoint name (at most 63 characters: letters, digits, '-')"),
            .init("model_id", .string, required: true, "HF_MODEL_ID of the model"),
            .init("instance_type", .string, "SageMaker instance type, e.g. ml.p4d.24xlarge"),
            .init("instance_count", .int, "initial instance count (default 1)"),
            .init("health_check_timeout", .number, "seconds to wait for the container to become healthy (60..3600; default 900)"),
            .init("image_uri", .string, "the serving container image"),
            .init("role_arn", .string, "the execution role"),
            .init("env", .object, "container environment: HF_MODEL_ID, SM_NUM_GPUS, MAX_INPUT_LENGTH, MAX_TOTAL_TOKENS, ..."),
            .init("setup", .object, "the setup cell's outputs (server binary, model path)"),
        ],
        outputs: ["endpoint_name", "url", "pid", "port", "status", "model", "startup_s", "started_at", "slots", "log_path"],
        hasLiveResource: true)

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let name = try context.require("endpoint_name")
        guard name.count <= 63, name.first?.isLetter == true || name.first?.isNumber == true,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }), !name.hasSuffix("-")
        else {
            throw CellFailure("endpoint name '\(name)' is not valid for SageMaker",
                              detail: "use at most 63 letters, digits and single hyphens, starting and ending with a letter or digit")
        }
        let timeout = context.double("health_check_timeout") ?? 900
        let env = (context.inputs["env"]?.objectValue ?? [:]).mapValues { $0.interpolationText }
        let request = DeployRequest(
            endpointName: name, modelID: try context.require("model_id"),
            instanceType: context.string("instance_type", default: "ml.p4d.24xlarge"),
            instanceCount: context.int("instance_count") ?? 1, healthCheckTimeout: timeout,
            imageURI: context.string("image_uri", default: ""), roleARN: context.string("role_arn", default: ""),
            environment: env, setup: context.inputs["setup"]?.objectValue ?? [:])
        return try await ServingTargets.make(context, client: HTTPClient()).deploy(request)
    }

    public func liveness(of outputs: [String: Value], context: CellContext) async -> Liveness? {
        guard let target = try? ServingTargets.make(context, client: HTTPClient()) else { return .gone("unknown runtime") }
        return await target.liveness(of: outputs)
    }
}
