/// Why a transfer failed. An HTTP status, even 5xx, is not an error at this
/// layer: it arrives as a response.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing accepted the TCP connection.
    case connectionRefused(url: String, detail: String)
    /// The host name did not resolve.
    case couldNotResolveHost(url: String, detail: String)
    /// The connect timeout or the total timeout ran out.
    case timedOut(url: String, detail: String)
    /// Any other libcurl failure, with libcurl's code and message.
    case transferFailed(url: String, curlCode: Int, detail: String)
    /// The request could not be set up (libcurl rejected an option, for example).
    case invalidRequest(url: String, reason: String)
    /// The client could not start its event-loop thread, or went away mid-transfer.
    case clientUnavailable(url: String, reason: String)

    /// The URL the failed request went to.
    public var url: String {
        switch self {
        case .connectionRefused(let url, _), .couldNotResolveHost(let url, _), .timedOut(let url, _),
            .transferFailed(let url, _, _), .invalidRequest(let url, _), .clientUnavailable(let url, _):
            return url
        }
    }

    public var description: String {
        switch self {
        case .connectionRefused(let url, let detail):
            return "Connection refused by \(url): nothing is listening there. "
                + "Check that the server is running and the host and port are right. (libcurl: \(detail))"
        case .couldNotResolveHost(let url, let detail):
            return "Could not resolve the host of \(url). Check the host name and the DNS setup. (libcurl: \(detail))"
        case .timedOut(let url, let detail):
            return "Request to \(url) timed out. The server may be overloaded or stuck; "
                + "raise the request's timeout if it is merely slow. (libcurl: \(detail))"
        case .transferFailed(let url, let code, let detail):
            return "HTTP transfer to \(url) failed: \(detail) (libcurl error \(code))."
        case .invalidRequest(let url, let reason):
            return "Could not set up the request to \(url): \(reason)."
        case .clientUnavailable(let url, let reason):
            return "The HTTP client could not carry the request to \(url): \(reason)."
        }
    }
}
