import AWSTestSupport
import AWSCore
import AWSServices
import CellbookHTTP
import CellbookJSON
import Foundation
import Testing

@Suite struct SageMakerRuntimeClientTests {
    @Test func invokeEndpointReturnsTheModelsAnswer() async throws {
        let answer = #"{"choices":[{"message":{"role":"assistant","content":"Hello from moto"}}]}"#
        try await Moto.queueInvocationResults([answer])
        let runtime = SageMakerRuntimeClient(try Moto.session())
        // moto memoizes answers per (endpoint, body): a fresh endpoint name gets the queued one.
        let result = try await runtime.invokeEndpoint(
            name: uniqueName("invoke"), body: Array(#"{"messages":[{"role":"user","content":"hi"}]}"#.utf8))
        #expect(result.status == 200)
        #expect(result.bodyText == answer)
        #expect(result.invokedVariant == "AllTraffic")
        #expect(result.contentType == "application/json")
    }

    @Test func invocationURLPercentEncodesTheName() throws {
        let env = AWSConfigEnvironment(environment: [:], homeDirectory: "/nonexistent")
        let session = AWSSession(credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s", source: "test"),
                                 region: "eu-central-1", config: env, http: HTTPClient())
        #expect(SageMakerRuntimeClient(session).invocationURL(name: "llama3-endpoint")
            == "https://runtime.sagemaker.eu-central-1.amazonaws.com/endpoints/llama3-endpoint/invocations")
        #expect(SageMakerRuntimeClient(session).invocationURL(name: "a b/c")
            == "https://runtime.sagemaker.eu-central-1.amazonaws.com/endpoints/a%20b%2Fc/invocations")

        var overridden = session
        overridden.config.environment = ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:9/", "AWS_ENDPOINT_URL": "http://other"]
        #expect(SageMakerRuntimeClient(overridden).invocationURL(name: "e") == "http://127.0.0.1:9/endpoints/e/invocations")
    }

    @Test func responseStreamRequestIsSignedAndStreamsFromTheFake() async throws {
        let fake = try FakeSageMaker(scenario: #"{"runtime": {"tokens": 3, "ttft_ms": 1, "itl_ms": 1, "text": "one two three"}}"#)
        let session = fake.session()
        let runtime = SageMakerRuntimeClient(session)
        let body = Array(#"{"messages":[{"role":"user","content":"count"}],"stream":true,"max_tokens":3}"#.utf8)
        let request = try runtime.responseStreamRequest(name: "llama3-endpoint", body: body, requestID: "req-42")

        #expect(request.method == "POST")
        #expect(request.url == fake.server.endpoint + "/endpoints/llama3-endpoint/invocations-response-stream")
        #expect(request.headers["Accept"] == "application/vnd.amazon.eventstream")
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["X-Amzn-SageMaker-Accept"] == "application/json")
        #expect(request.headers["X-Amzn-SageMaker-Inference-Id"] == "req-42")
        #expect(request.headers["Authorization"]?.contains("/us-east-1/sagemaker/aws4_request") == true)
        #expect(request.timeout == nil)

        let response = try await session.http.send(request)
        #expect(response.status == 200, "\(response.bodyText)")
        #expect(response.header("x-amzn-requestid") == "req-42")
        var decoder = SageMakerResponseStream()
        let text = try decoder.feed(response.body).map { event in
            if case .payloadPart(let bytes) = event { return String(decoding: bytes, as: UTF8.self) }
            return ""
        }.joined()
        try decoder.finish()
        #expect(text.hasPrefix("data: {"))
        #expect(text.hasSuffix("data: [DONE]\n\n"))
    }

    @Test func streamErrorResponsesReadAsServiceErrors() async throws {
        let fake = try FakeSageMaker(scenario: #"{"faults": {"InvokeEndpointWithResponseStream": ["model_error"]}}"#)
        let session = fake.session()
        let runtime = SageMakerRuntimeClient(session)
        let response = try await session.http.send(runtime.responseStreamRequest(name: "llama3-endpoint", body: Array("{}".utf8)))
        let error = runtime.responseStreamError(status: response.status, headers: response.headers, body: response.body)
        #expect(error.httpStatus == 424)
        #expect(error.code == "ModelError")
        #expect(error.operation == "InvokeEndpointWithResponseStream")
    }

    @Test func invalidEndpointNameFailsBeforeSending() throws {
        let runtime = SageMakerRuntimeClient(try Moto.session())
        #expect(throws: AWSRequestError.invalidName(
            kind: "SageMaker endpoint name", name: "bad_name",
            rule: "use 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit")) {
            try runtime.responseStreamRequest(name: "bad_name", body: [])
        }
    }
}
