import AWSCore
import AWSServices
import CellbookHTTP
import LoadBench
import SageMakerServing
import ServingKit

/// `--transport sagemaker`: the load test over InvokeEndpointWithResponseStream, as the sagemaker
/// target's benchmark cell sends it (SigV4-signed, event-stream body, `SageMakerChatTransport`).
///
/// `--url` is the runtime's base URL (it becomes AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME) and
/// `--endpoint-name` the endpoint. The credentials are fixed test ones, so a fake that checks
/// signatures (Tests/Fakes/fake_sagemaker.py) is given the same pair; nothing is read from the
/// environment or ~/.aws, so a developer's real credentials never sign a benchmark request.
enum SageMakerTransportMaker {
    static let accessKeyID = "AKIDLOADBENCH"
    static let secretAccessKey = "loadbench-secret"
    static let region = "us-east-1"

    @Sendable static func make(_ options: LoadBenchHarness.Options, _ client: HTTPClient) throws -> any ChatTranscriptTransport {
        let config = AWSConfigEnvironment(environment: ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": options.url],
                                          homeDirectory: "/nonexistent")
        let session = AWSSession(credentials: AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey,
                                                             source: "loadbench-harness test credentials"),
                                 region: region, config: config, http: client)
        return SageMakerChatTransport(runtime: SageMakerRuntimeClient(session), http: client,
                                      endpointName: options.endpointName, includeUsage: options.includeUsage)
    }
}
