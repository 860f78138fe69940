import CellbookEngine
import CellbookHTTP
import Foundation
import LoadBench
import PlaybookModel

/// Where the tutorial's model is served. Each target is a type in its own file, chosen by the
/// playbook target's `runtime` setting and registered in AllKinds.swift; the tutorial's cell
/// kinds (setup, deploy, chat, cleanup, benchmark) talk only to this protocol.
public protocol ServingTarget: Sendable {
    /// The value of the target setting `runtime` that selects this type.
    static var runtime: String { get }

    init(context: CellContext, client: HTTPClient) throws

    /// Session, role, bucket, image: the tutorial's step 1.
    func setup() async throws -> [String: Value]
    /// Creates the model, its endpoint configuration and the endpoint; waits until it serves.
    func deploy(_ request: DeployRequest) async throws -> [String: Value]
    /// Whether a recorded deployment still serves.
    func liveness(of deployment: [String: Value]) async -> Liveness
    /// Streams a chat completion from a deployment.
    func chatStream(_ endpoint: EndpointRef, request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error>
    /// The load generator's view of a deployment: how it streams, and how prompt lengths are
    /// calibrated (a tokenizer route where the server has one, probe requests otherwise).
    func loadTransport(_ endpoint: EndpointRef) -> (any ChatStreamTransport, PromptLengthCalibration)
    /// Deletes what deploy created. Safe to call when it is already gone.
    func cleanup(_ endpoint: EndpointRef, deployment: [String: Value]) async throws -> [String: Value]
}

/// What the deploy cell asks for, in SageMaker's terms; each target maps it to its own.
public struct DeployRequest: Sendable {
    public var endpointName: String
    public var modelID: String
    public var instanceType: String
    public var instanceCount: Int
    public var healthCheckTimeout: Double
    public var imageURI: String
    public var roleARN: String
    /// The container environment (HF_MODEL_ID, SM_NUM_GPUS, MAX_TOTAL_TOKENS, ...).
    public var environment: [String: String]
    /// Values the setup cell published (model path, server binary, ...).
    public var setup: [String: Value]
}

/// How later cells address a deployment: its name and URL. Deliberately not the pid, so a
/// redeploy of the same model at the same address keeps chat and benchmark results cached.
public struct EndpointRef: Sendable {
    public var name: String
    public var url: String

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

enum ServingTargets {
    /// The target type for this cell's playbook target, or a failure naming the known runtimes.
    static func make(_ context: CellContext, client: HTTPClient) throws -> any ServingTarget {
        let runtime = context.setting("runtime")?.stringValue ?? "local"
        guard let type = allServingTargets.first(where: { $0.runtime == runtime }) else {
            throw CellFailure("target '\(context.target.name)' sets runtime '\(runtime)', which cellbook does not know",
                              detail: "known runtimes: \(allServingTargets.map { $0.runtime }.joined(separator: ", "))")
        }
        return try type.init(context: context, client: client)
    }
}
