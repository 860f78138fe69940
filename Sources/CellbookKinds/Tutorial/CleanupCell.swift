import CellbookEngine
import CellbookHTTP
import PlaybookModel
import ServingKit

/// The tutorial's step 6: delete what deploy created (sagemaker: endpoint, endpoint
/// configuration and model; local: stop the server, confirm its port is closed). Running it
/// twice is fine: what is already gone counts as done.
public struct CleanupCell: CellKind {
    public static let schema = KindSchema(
        name: "cleanup",
        summary: "Deletes the endpoint, its configuration and the model (local: stops the server)",
        inputs: [
            .init("endpoint", .string, required: true, "the endpoint name"),
            .init("url", .string, "the endpoint's URL"),
            .init("deployment", .object, required: true, "the deploy cell's `deployment` record"),
        ],
        outputs: CleanupResult.outputNames,
        releasesUpstream: true)

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let deployment = try ServingTargets.deployment(context)
        let target = try ServingTargets.make(context, client: HTTPClient())
        return try await ServingTargets.call { try await target.cleanup(deployment) }.outputs
    }
}
