#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a request treats the proxies named in the environment
/// (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`).
public enum ProxyPolicy: Sendable, Equatable {
    /// Loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) connect directly, so a
    /// proxy set for the outside world never swallows traffic to a local
    /// server; other hosts follow the environment as libcurl does. The default.
    case directForLoopback
    /// Never use a proxy.
    case direct
    /// Follow the environment for every host, loopback included.
    case environment
}

/// One HTTP request, as a plain value.
public struct HTTPRequest: Sendable, Equatable {
    /// The method, upper case: `GET`, `POST`, `HEAD`, `PUT`, `DELETE`, ...
    public var method: String
    /// The absolute URL, scheme included.
    public var url: String
    /// Request headers. An empty value sends the header with no value.
    public var headers: [String: String]
    /// The request body; sent whenever it is not empty, and always for `POST`.
    public var body: [UInt8]
    /// Limit on the whole transfer, connect to last byte; `nil` means none.
    /// Streams that may run long should set this with care.
    public var timeout: Duration?
    /// Limit on establishing the connection; `nil` means libcurl's 300 s.
    public var connectTimeout: Duration?
    /// Whether environment proxies apply.
    public var proxy: ProxyPolicy
    /// Send on a new connection, closed afterwards. libcurl re-sends a request by itself, for any
    /// method, when a reused connection turns out dead before an answer; a request that must not
    /// run twice (a create) sets this so each attempt is sent at most once.
    public var freshConnection = false

    /// Creates a request.
    public init(
        method: String = "GET",
        url: String,
        headers: [String: String] = [:],
        body: [UInt8] = [],
        timeout: Duration? = nil,
        connectTimeout: Duration? = .seconds(30),
        proxy: ProxyPolicy = .directForLoopback
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.proxy = proxy
    }

    /// Creates a request whose body is `Data`.
    public init(
        method: String = "POST",
        url: String,
        headers: [String: String] = [:],
        body: Data,
        timeout: Duration? = nil,
        connectTimeout: Duration? = .seconds(30),
        proxy: ProxyPolicy = .directForLoopback
    ) {
        self.init(
            method: method, url: url, headers: headers, body: [UInt8](body),
            timeout: timeout, connectTimeout: connectTimeout, proxy: proxy)
    }
}

/// A complete HTTP response. Any status is a response, not an error: callers
/// decide what a 4xx or 5xx means to them.
public struct HTTPResponse: Sendable, Equatable {
    /// The status code of the final response (after any 1xx).
    public var status: Int
    /// Response headers with lower-cased names; repeated headers are joined with ", ".
    public var headers: [String: String]
    /// The body bytes, decoded of any transfer encoding.
    public var body: [UInt8]

    /// Creates a response (tests and fakes build their own).
    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text (invalid sequences become U+FFFD).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// True for 2xx statuses.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The value of a header, looked up case-insensitively.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// What a streaming transfer yields: the head once, then body chunks as
/// libcurl hands them over.
public enum HTTPStreamEvent: Sendable, Equatable {
    /// Status and headers (lower-cased names) of the final response.
    case head(status: Int, headers: [String: String])
    /// A chunk of body bytes and the `MonotonicClock.nanoseconds()` reading
    /// taken when libcurl delivered it to the client, before any consumer saw it.
    case body([UInt8], receivedAt: UInt64)
}
