/// An error response from an AWS service, whichever protocol carried it.
public struct AWSServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The service as people name it: `SageMaker`, `STS`, `IAM`, `S3`.
    public var service: String
    /// The API operation: `CreateModel`, `GetCallerIdentity`, `HeadBucket`.
    public var operation: String
    public var httpStatus: Int
    /// The error code without namespace: `ValidationException`, `SignatureDoesNotMatch`.
    public var code: String
    /// The service's message, or "" when it sent none (HEAD responses have no body).
    public var message: String
    /// The request ID AWS support asks for.
    public var requestID: String?

    public init(service: String, operation: String, httpStatus: Int, code: String, message: String, requestID: String? = nil) {
        self.service = service
        self.operation = operation
        self.httpStatus = httpStatus
        self.code = code
        self.message = message
        self.requestID = requestID
    }

    /// "SageMaker CreateModel: ValidationException: Could not find model ... (HTTP 400, request id abc)"
    public var description: String {
        var text = "\(service) \(operation): \(code)"
        if !message.isEmpty { text += ": \(message)" }
        text += " (HTTP \(httpStatus)"
        if let requestID, !requestID.isEmpty { text += ", request id \(requestID)" }
        return text + ")"
    }

    /// The service refused because of the request rate; retrying later helps.
    public var isThrottling: Bool {
        RetryPolicy.throttlingErrorCodes.contains(code) || httpStatus == 429
    }

    /// The resource does not exist. SageMaker says so with a `ValidationException` whose
    /// message starts "Could not find"; the others with a code of their own or a 404.
    public var isNotFound: Bool {
        if Self.notFoundCodes.contains(code) || httpStatus == 404 { return true }
        return code == "ValidationException" && message.hasPrefix("Could not find")
    }

    /// The caller may not do this: the credentials are fine but lack the permission.
    public var isAccessDenied: Bool {
        if isCredentialProblem { return false }
        return Self.accessDeniedCodes.contains(code) || httpStatus == 403
    }

    /// The credentials themselves are wrong, unknown or expired, or the signature does not match.
    public var isCredentialProblem: Bool { Self.credentialCodes.contains(code) }

    static let notFoundCodes: Set<String> = [
        "NotFound", "NoSuchEntity", "NoSuchBucket", "NoSuchKey", "ResourceNotFound", "ResourceNotFoundException",
    ]
    static let accessDeniedCodes: Set<String> = ["AccessDenied", "AccessDeniedException", "Forbidden", "UnauthorizedOperation"]
    static let credentialCodes: Set<String> = [
        "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId",
        "ExpiredToken", "ExpiredTokenException", "IncompleteSignature", "MissingAuthenticationToken", "InvalidSignatureException",
    ]
}
