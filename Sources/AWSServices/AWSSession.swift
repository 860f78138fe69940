import AWSCore
import CellbookHTTP
import Foundation

/// Everything a call needs: credentials, region, endpoint overrides, the HTTP client, the retry
/// policy and a clock. Every client is made from one.
///
/// Printing a session shows the region and the access key id, never the secret, the session
/// token or the environment (which may hold tokens of other services).
public struct AWSSession: Sendable, CustomStringConvertible, CustomReflectable {
    public var credentials: AWSCredentials
    public var region: String
    /// Where the region came from ("AWS_REGION", "the explicit setting", a config file section).
    public var regionSource: String
    /// Read for endpoint overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
    public var config: AWSConfigEnvironment
    public var http: HTTPClient
    public var retry: RetryPolicy
    /// Told before each retry, e.g. "SageMaker DescribeEndpoint throttled (ThrottlingException),
    /// retrying in 0.8 s (attempt 2 of 3)".
    public var onRetry: (@Sendable (String) -> Void)?
    /// The time requests are signed with.
    public var now: @Sendable () -> Date
    /// Waits between attempts; tests inject one that returns at once.
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        credentials: AWSCredentials, region: String, regionSource: String = "the explicit setting",
        config: AWSConfigEnvironment, http: HTTPClient, retry: RetryPolicy = RetryPolicy(),
        onRetry: (@Sendable (String) -> Void)? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.credentials = credentials
        self.region = region
        self.regionSource = regionSource
        self.config = config
        self.http = http
        self.retry = retry
        self.onRetry = onRetry
        self.now = now
        self.sleep = sleep
    }

    /// Credentials from the chain (environment, then the profile's files) and the region from
    /// `explicit`, AWS_REGION, AWS_DEFAULT_REGION or the profile. Throws `AWSConfigError`,
    /// whose message says where it looked.
    public static func resolve(region explicit: String?, config: AWSConfigEnvironment, http: HTTPClient) throws -> AWSSession {
        let credentials = try AWSCredentialChain.resolve(config)
        let region = try AWSRegionResolver.resolve(config, explicit: explicit)
        return AWSSession(credentials: credentials, region: region.region, regionSource: region.source, config: config, http: http)
    }

    /// The base URL (no trailing "/") and signing scope of a service, overrides honoured.
    public func endpoint(serviceID: String) -> (url: String, signingRegion: String, signingName: String) {
        AWSServiceEndpoint.url(serviceID: serviceID, region: region, env: config)
    }

    public var description: String {
        "AWS session in \(region) (from \(regionSource)) with \(credentials)"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["region": region, "regionSource": regionSource, "credentials": credentials])
    }
}
