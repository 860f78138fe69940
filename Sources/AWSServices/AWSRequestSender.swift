import AWSCore
import CellbookHTTP
import Foundation

/// One API call as it goes on the wire, before signing.
public struct AWSCall: Sendable {
    /// The API operation, for messages and retry notices: `CreateModel`, `HeadBucket`.
    public var operation: String
    public var method: String
    /// The path below the endpoint's base URL, already percent-encoded (`AWSURIEncoding`).
    public var path: String
    /// The query string without "?", already percent-encoded; "" for none.
    public var query: String
    public var headers: [String: String]
    public var body: [UInt8]

    public init(operation: String, method: String = "POST", path: String = "/", query: String = "",
                headers: [String: String] = [:], body: [UInt8] = []) {
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// Sends signed calls to one service with retries: builds the URL from `AWSServiceEndpoint`
/// (overrides honoured), signs with SigV4, sends, turns error responses into
/// `AWSServiceError` and retries what `RetryPolicy` says to (throttling, 5xx, lost
/// connections). A call marked non-idempotent is not repeated after a failure that may have
/// taken effect unless the caller gives `verifyBeforeRetry` to look first.
public struct AWSRequestSender: Sendable {
    /// How the service words its error responses.
    public enum ErrorFormat: Sendable {
        /// JSON 1.1 and rest-json (SageMaker, its runtime).
        case json
        /// Query protocol and S3 (STS, IAM, S3).
        case xml
    }

    public let session: AWSSession
    /// The service as people name it, for messages: "SageMaker", "STS".
    public let service: String
    /// The SDK service id, for the endpoint and its override variable: "SageMaker Runtime".
    public let serviceID: String
    public let errorFormat: ErrorFormat
    public let signingOptions: SigV4Options
    /// Limit on each attempt, connect to last byte.
    public var timeout: Duration?

    public init(session: AWSSession, service: String, serviceID: String, errorFormat: ErrorFormat,
                signingOptions: SigV4Options = SigV4Options(), timeout: Duration? = .seconds(60)) {
        self.session = session
        self.service = service
        self.serviceID = serviceID
        self.errorFormat = errorFormat
        self.signingOptions = signingOptions
        self.timeout = timeout
    }

    /// The service's base URL, without a trailing "/".
    public var baseURL: String { session.endpoint(serviceID: serviceID).url }

    /// The call as a signed request, dated now.
    public func signedRequest(_ call: AWSCall) -> HTTPRequest {
        let endpoint = session.endpoint(serviceID: serviceID)
        var url = endpoint.url + (call.path.hasPrefix("/") ? call.path : "/" + call.path)
        if !call.query.isEmpty { url += "?" + call.query }
        let signer = SigV4Signer(credentials: session.credentials, region: endpoint.signingRegion, service: endpoint.signingName)
        let signed = signer.sign(method: call.method, url: url, headers: call.headers.map { (name: $0.key, value: $0.value) },
                                 body: call.body, date: session.now(), options: signingOptions)
        var headers: [String: String] = [:]
        for header in signed { headers[header.name] = header.value }
        return HTTPRequest(method: call.method, url: url, headers: headers, body: call.body, timeout: timeout)
    }

    /// Sends `call` (signed afresh for each attempt) and returns its 2xx response. Throws the
    /// last `AWSServiceError` for an error response, `AWSRequestError` when no answer came.
    public func send(_ call: AWSCall, idempotent: Bool = true) async throws -> HTTPResponse {
        try await send(call, idempotent: idempotent, verifyBeforeRetry: nil) { $0 }
    }

    /// Sends `call` and decodes its 2xx response with `decode` (which throws
    /// `AWSRequestError.malformedResponse` for a body it cannot read; not retried).
    ///
    /// - verifyBeforeRetry: for a non-idempotent call, looks whether a failed attempt took
    ///   effect anyway (a Describe after a Create): the result when it did, nil to try again.
    public func send<T>(
        _ call: AWSCall, idempotent: Bool = true,
        verifyBeforeRetry: ((any Error) async throws -> T?)? = nil,
        decode: (HTTPResponse) throws -> T
    ) async throws -> T {
        var attempts = 0
        do {
            return try await session.retry.run(
                idempotent: idempotent,
                isRetryable: classify,
                verifyBeforeRetry: verifyBeforeRetry,
                onRetry: { notice in session.onRetry?("\(service) \(call.operation) \(notice)") },
                sleep: session.sleep
            ) { _ in
                attempts += 1
                var request = signedRequest(call)
                // libcurl would re-send on its own after a dead reused connection: not a create.
                request.freshConnection = !idempotent
                let response = try await session.http.send(request)
                guard response.isSuccess else { throw serviceError(response, operation: call.operation) }
                return try decode(response)
            }
        } catch let error as HTTPError {
            // The last attempt of a create went out and nothing came back: it may have happened.
            if !idempotent, case .retry(let reason) = classify(error), reason.mayHaveTakenEffect {
                throw AWSRequestError.outcomeUnknown(service: service, operation: call.operation, error: error)
            }
            throw AWSRequestError.connectionFailed(service: service, operation: call.operation, error: error, attempts: attempts)
        }
    }

    /// What to do about a failed attempt.
    public func classify(_ error: any Error) -> RetryDecision {
        switch error {
        case let error as AWSServiceError:
            return session.retry.classify(error)
        case let error as HTTPError:
            switch error {
            case .connectionRefused, .couldNotResolveHost, .timedOut, .transferFailed:
                return session.retry.classify(status: nil, errorCode: nil, isConnectionError: true)
            case .invalidRequest, .clientUnavailable:
                return .doNotRetry
            }
        default:
            return .doNotRetry
        }
    }

    /// The error a non-2xx response stands for.
    public func serviceError(_ response: HTTPResponse, operation: String) -> AWSServiceError {
        // moto answers signature failures on JSON services with an XML <ErrorResponse>, so
        // read the code from whichever format came (an HTML page has no <Code>).
        if errorFormat == .xml || (try? XMLFields(bytes: response.body))?.firstText(named: "Code") != nil {
            return AWSErrorParser.queryProtocol(
                status: response.status, headers: response.headers, body: response.body, service: service, operation: operation)
        }
        return AWSErrorParser.jsonProtocol(
            status: response.status, headers: response.headers, body: response.body, service: service, operation: operation)
    }
}
