import CellbookEngine
import CellbookHTTP
import PlaybookModel

/// The tutorial's step 6: delete what deploy created (local: stop the server, confirm its
/// port is closed). Running it twice is fine.
public struct CleanupCell: CellKind {
    public static let schema = KindSchema(
        name: "cleanup",
        summary: "Deletes the endpoint, its configuration and the model (local: stops the server)",
        inputs: [
            .init("endpoint", .string, required: true, "the endpoint name"),
            .init("url", .string, "the endpoint's URL"),
            .init("deployment", .object, required: true, "the deploy cell's outputs"),
        ],
        outputs: ["stopped", "was_running", "port_closed", "forced"],
        releasesUpstream: true)

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let endpoint = EndpointRef(name: try context.require("endpoint"), url: context.string("url", default: ""))
        return try await ServingTargets.make(context, client: HTTPClient())
            .cleanup(endpoint, deployment: context.inputs["deployment"]?.objectValue ?? [:])
    }
}
