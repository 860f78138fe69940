import CellbookEngine
import CellbookHTTP
import PlaybookModel
import ServingKit

/// The tutorial's step 1: session, role, bucket and serving image. On the local target it
/// finds or installs the runtime and records the model file with its SHA-256; on sagemaker it
/// finds the account, the execution role and the default bucket (creating it when missing).
public struct SetupCell: CellKind {
    public static let schema = KindSchema(
        name: "setup",
        summary: "Session, role, bucket and image (local: finds or installs the model server)",
        inputs: [
            .init("region", .string, "AWS region (the SageMaker target's session region)"),
            .init("image_uri", .string, "the serving container image URI"),
            .init("role_name", .string, "IAM role to fall back to when the caller is not an assumed role"),
            .init("model_id", .string, "the model the tutorial deploys (shown beside its local stand-in)"),
        ],
        outputs: SetupResult.outputNames)

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let target = try ServingTargets.make(context, client: HTTPClient())
        let request = SetupRequest(region: context.string("region").flatMap { $0.isEmpty ? nil : $0 },
                                   imageURI: context.string("image_uri").flatMap { $0.isEmpty ? nil : $0 },
                                   roleName: context.string("role_name").flatMap { $0.isEmpty ? nil : $0 },
                                   modelID: context.string("model_id"))
        return try await ServingTargets.call { try await target.setup(request) }.outputs
    }
}
