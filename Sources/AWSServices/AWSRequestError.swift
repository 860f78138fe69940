import CellbookHTTP

/// Why a call failed without an error response from the service (those are `AWSServiceError`).
/// Messages name the service and operation and never carry credentials or request bodies.
public enum AWSRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer came, on every attempt.
    case connectionFailed(service: String, operation: String, error: HTTPError, attempts: Int)
    /// A call that must not happen twice lost its connection (or timed out) after it was sent:
    /// it may have been carried out. Not repeated automatically.
    case outcomeUnknown(service: String, operation: String, error: HTTPError)
    /// A success response whose body is not what the API promises.
    case malformedResponse(service: String, operation: String, reason: String)
    /// A name the service would reject, caught before sending.
    case invalidName(kind: String, name: String, rule: String)

    /// The transport failure underneath, when there is one.
    public var httpError: HTTPError? {
        switch self {
        case .connectionFailed(_, _, let error, _), .outcomeUnknown(_, _, let error): error
        case .malformedResponse, .invalidName: nil
        }
    }

    public var description: String {
        switch self {
        case .connectionFailed(let service, let operation, let error, let attempts):
            let tries = attempts == 1 ? "" : " (\(attempts) attempts)"
            return "\(service) \(operation) got no answer\(tries): \(error)"
        case .outcomeUnknown(let service, let operation, let error):
            return "\(service) \(operation) was sent but no answer came, so it may or may not have been carried out; "
                + "cellbook does not repeat it blindly. Check whether it took effect before running it again. (\(error))"
        case .malformedResponse(let service, let operation, let reason):
            return "\(service) \(operation) answered with a response cellbook cannot read: \(reason). "
                + "If AWS_ENDPOINT_URL points somewhere, check that it is an AWS-compatible endpoint."
        case .invalidName(let kind, let name, let rule):
            return "\"\(name)\" is not a valid \(kind): \(rule)."
        }
    }
}
