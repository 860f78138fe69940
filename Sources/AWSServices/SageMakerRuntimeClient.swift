import AWSCore
import CellbookHTTP

/// The SageMaker runtime: calling a deployed endpoint. rest-json on
/// `runtime.sagemaker.<region>.amazonaws.com` (override AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME),
/// signed as "sagemaker".
public struct SageMakerRuntimeClient: Sendable {
    let sender: AWSRequestSender

    /// - timeout: limit on each InvokeEndpoint attempt. SageMaker itself gives a model 60 s.
    public init(_ session: AWSSession, timeout: Duration = .seconds(90)) {
        sender = AWSRequestSender(session: session, service: "SageMaker Runtime", serviceID: "SageMaker Runtime",
                                  errorFormat: .json, timeout: timeout)
    }

    /// The URL InvokeEndpoint posts to.
    public func invocationURL(name: String) -> String {
        sender.baseURL + Self.path(name, "invocations")
    }

    /// InvokeEndpoint: the model's whole answer. Errors (the model's 424 ModelError, 429
    /// ModelNotReadyException, ...) are `AWSServiceError`s; 5xx and throttling are retried.
    public func invokeEndpoint(name: String, body: [UInt8], contentType: String = "application/json",
                               accept: String = "application/json") async throws -> InvocationResult {
        try Self.validate(name)
        let call = AWSCall(operation: "InvokeEndpoint", path: Self.path(name, "invocations"),
                           headers: ["Content-Type": contentType, "Accept": accept], body: body)
        let response = try await sender.send(call)
        return InvocationResult(status: response.status, body: response.body, contentType: response.header("content-type"),
                                invokedVariant: response.header("x-amzn-invoked-production-variant"))
    }

    /// A signed request for InvokeEndpointWithResponseStream
    /// (`POST /endpoints/{name}/invocations-response-stream`), for the caller to stream with its
    /// own sink: the body comes back as an AWS event stream (`SageMakerResponseStream` reads it).
    /// No overall timeout (a stream may run long); sign it just before sending, since the
    /// signature is dated. Its headers carry the signature and any session token: do not log them.
    /// - requestID: sent as X-Amzn-SageMaker-Inference-Id, which SageMaker logs with the request.
    public func responseStreamRequest(name: String, body: [UInt8], requestID: String? = nil,
                                      contentType: String = "application/json", accept: String = "application/json") throws -> HTTPRequest {
        try Self.validate(name)
        var headers = [
            "Content-Type": contentType,
            "Accept": "application/vnd.amazon.eventstream",
            "X-Amzn-SageMaker-Accept": accept,
        ]
        if let requestID { headers["X-Amzn-SageMaker-Inference-Id"] = requestID }
        var request = sender.signedRequest(AWSCall(operation: "InvokeEndpointWithResponseStream",
                                                   path: Self.path(name, "invocations-response-stream"), headers: headers, body: body))
        request.timeout = nil
        return request
    }

    /// The error an InvokeEndpointWithResponseStream response with a non-2xx status stands for.
    public func responseStreamError(status: Int, headers: [String: String], body: [UInt8]) -> AWSServiceError {
        sender.serviceError(HTTPResponse(status: status, headers: headers, body: body), operation: "InvokeEndpointWithResponseStream")
    }

    static func path(_ name: String, _ action: String) -> String {
        "/endpoints/\(AWSURIEncoding.encode(name))/\(action)"
    }

    /// SageMaker's endpoint name rule, checked here so a typo fails with a clear message
    /// rather than a 404 or a signature error from a strange path.
    static func validate(_ name: String) throws {
        let bytes = Array(name.utf8)
        let isAlnum: (UInt8) -> Bool = { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        guard (1...63).contains(bytes.count), bytes.allSatisfy({ isAlnum($0) || $0 == 0x2D }),
              let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else {
            throw AWSRequestError.invalidName(
                kind: "SageMaker endpoint name", name: name,
                rule: "use 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit")
        }
    }
}
