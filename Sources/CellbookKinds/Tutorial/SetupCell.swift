import CellbookEngine
import CellbookHTTP
import PlaybookModel

/// The tutorial's step 1: session, role, bucket and serving image; on the local target it
/// finds or installs the runtime and records versions and the model file with its SHA-256.
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
        outputs: ["runtime", "runtime_version", "region", "image_uri", "role_arn", "bucket",
                  "server_binary", "model_path", "model_bytes", "model_sha256"])

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        try await ServingTargets.make(context, client: HTTPClient()).setup()
    }
}
