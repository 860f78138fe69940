/// Why a failed call is worth another attempt.
public enum RetryReason: Sendable, Equatable, CustomStringConvertible {
    /// The service refused because of the request rate (`ThrottlingException`, `SlowDown`, ...).
    case throttled(code: String)
    /// A transient service error (`RequestTimeout`, `PriorRequestNotComplete`).
    case transient(code: String)
    /// HTTP 500, 502, 503 or 504.
    case serverError(status: Int)
    /// The connection failed, was reset or timed out: no response came.
    case connectionError

    /// The failed request may nonetheless have been carried out: the server may have acted on it
    /// before the connection dropped or the gateway gave up. A throttled request, or a 503,
    /// was refused before any work.
    public var mayHaveTakenEffect: Bool {
        switch self {
        case .throttled: false
        case .serverError(let status): status != 503
        case .transient, .connectionError: true
        }
    }

    public var description: String {
        switch self {
        case .throttled(let code): "throttled (\(code))"
        case .transient(let code): "transient error (\(code))"
        case .serverError(let status): "server error (HTTP \(status))"
        case .connectionError: "connection error"
        }
    }
}

/// Whether to try a failed call again.
public enum RetryDecision: Sendable, Equatable {
    case retry(RetryReason)
    case doNotRetry
}

/// A retry about to happen, for the caller to show: "throttled (ThrottlingException), retrying
/// in 0.8 s (attempt 2 of 3)".
public struct RetryNotice: Sendable, Equatable, CustomStringConvertible {
    public var reason: RetryReason
    public var delay: Duration
    /// The attempt about to be made, counting from 1.
    public var attempt: Int
    public var maxAttempts: Int

    public init(reason: RetryReason, delay: Duration, attempt: Int, maxAttempts: Int) {
        self.reason = reason
        self.delay = delay
        self.attempt = attempt
        self.maxAttempts = maxAttempts
    }

    public var description: String {
        "\(reason), retrying in \(Self.format(delay)) (attempt \(attempt) of \(maxAttempts))"
    }

    static func format(_ duration: Duration) -> String {
        let milliseconds = Int((Double(duration.components.seconds) * 1000
            + Double(duration.components.attoseconds) / 1e15).rounded())
        if milliseconds < 100 { return "\(milliseconds) ms" }
        let tenths = (milliseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10) s"
    }
}

/// botocore's "standard" retry mode as a value: which failures to retry, how long to wait, and
/// how many attempts in all. The client decides what each of its errors is; this type decides
/// what to do about it.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// The ceiling of the exponential backoff.
    public var maxBackoff: Duration
    /// A number in 0...1 for the jitter; injectable so tests can pin the delays.
    public var random: @Sendable () -> Double

    public init(
        maxAttempts: Int = 3, maxBackoff: Duration = .seconds(20),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.maxBackoff = maxBackoff
        self.random = random
    }

    /// Codes botocore treats as throttling.
    public static let throttlingErrorCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    /// Codes botocore treats as transient.
    public static let transientErrorCodes: Set<String> = ["RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"]
    /// Statuses botocore retries whatever the code.
    public static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    /// The wait after attempt `attempt` (0-based) failed: full jitter,
    /// `random(0...1) * min(2^attempt s, maxBackoff)`.
    public func delay(forAttempt attempt: Int) -> Duration {
        let ceiling = min(Duration.seconds(1 << min(max(attempt, 0), 30)), maxBackoff)
        return ceiling * min(max(random(), 0), 1)
    }

    /// What to do about a failure: `status` of the response (nil when none came), its error
    /// code, and whether the connection itself failed.
    public func classify(status: Int?, errorCode: String?, isConnectionError: Bool) -> RetryDecision {
        if isConnectionError { return .retry(.connectionError) }
        if let errorCode {
            if Self.throttlingErrorCodes.contains(errorCode) { return .retry(.throttled(code: errorCode)) }
            if Self.transientErrorCodes.contains(errorCode) { return .retry(.transient(code: errorCode)) }
        }
        if let status {
            // A 429 without a known code is throttling all the same.
            if status == 429 { return .retry(.throttled(code: errorCode ?? "TooManyRequests")) }
            if Self.transientStatuses.contains(status) { return .retry(.serverError(status: status)) }
        }
        return .doNotRetry
    }

    /// What to do about a service's error response.
    public func classify(_ error: AWSServiceError) -> RetryDecision {
        classify(status: error.httpStatus, errorCode: error.code, isConnectionError: false)
    }

    /// Runs `operation` (given the attempt number, from 0) until it succeeds, fails in a way
    /// `isRetryable` says not to retry, or `maxAttempts` are spent; then throws the last error.
    ///
    /// - idempotent: false for calls that must not happen twice (creates). After a failure that
    ///   may have taken effect (`RetryReason.mayHaveTakenEffect`) such a call is retried only
    ///   through `verifyBeforeRetry`, which looks whether it did (a Describe after a Create):
    ///   it returns the result when it did, nil to go on retrying.
    /// - onRetry: told before each wait.
    /// - sleep: waits; the default is `Task.sleep`, which throws when the task is cancelled.
    /// Cancellation stops it between attempts with `CancellationError`.
    public func run<T>(
        idempotent: Bool = true,
        isRetryable: (any Error) -> RetryDecision,
        verifyBeforeRetry: ((any Error) async throws -> T?)? = nil,
        onRetry: (RetryNotice) -> Void = { _ in },
        sleep: (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        _ operation: (_ attempt: Int) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                return try await operation(attempt)
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                guard case .retry(let reason) = isRetryable(error), attempt + 1 < maxAttempts else { throw error }
                if !idempotent, reason.mayHaveTakenEffect {
                    guard let verifyBeforeRetry else { throw error }
                    if let done = try await verifyBeforeRetry(error) { return done }
                }
                let wait = delay(forAttempt: attempt)
                attempt += 1
                onRetry(RetryNotice(reason: reason, delay: wait, attempt: attempt + 1, maxAttempts: maxAttempts))
                try await sleep(wait)
            }
        }
    }
}
