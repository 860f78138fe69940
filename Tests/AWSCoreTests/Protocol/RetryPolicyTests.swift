import AWSCore
import Testing

@Suite struct RetryPolicyTests {
    private struct Failure: Error, Equatable {
        var status: Int?
        var code: String?
        var connection = false
    }

    private func policy(random: Double = 1, maxAttempts: Int = 3) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, random: { random })
    }

    private func classify(_ policy: RetryPolicy) -> (any Error) -> RetryDecision {
        { error in
            guard let failure = error as? Failure else { return .doNotRetry }
            return policy.classify(status: failure.status, errorCode: failure.code, isConnectionError: failure.connection)
        }
    }

    @Test func fullJitterExponentialBackoffCappedAt20Seconds() {
        let top = policy(random: 1)
        #expect((0..<7).map(top.delay(forAttempt:)) == [1, 2, 4, 8, 16, 20, 20].map { Duration.seconds($0) })
        #expect(top.delay(forAttempt: 500) == .seconds(20), "no overflow for absurd attempt numbers")
        #expect(policy(random: 0.4).delay(forAttempt: 1) == .milliseconds(800))
        #expect(policy(random: 0).delay(forAttempt: 3) == .zero)
        #expect(RetryPolicy(maxBackoff: .seconds(3), random: { 1 }).delay(forAttempt: 4) == .seconds(3))
        // The default source stays within the bounds.
        let live = RetryPolicy()
        for attempt in 0..<6 { #expect(live.delay(forAttempt: attempt) <= .seconds(min(1 << attempt, 20))) }
    }

    @Test(arguments: Array(RetryPolicy.throttlingErrorCodes))
    func throttlingCodesAreRetried(_ code: String) {
        #expect(RetryPolicy().classify(status: 400, errorCode: code, isConnectionError: false) == .retry(.throttled(code: code)))
    }

    @Test func whatIsRetriedAndWhatIsNot() {
        let policy = RetryPolicy()
        #expect(policy.classify(status: 408, errorCode: "RequestTimeout", isConnectionError: false) == .retry(.transient(code: "RequestTimeout")))
        #expect(policy.classify(status: 400, errorCode: "RequestTimeoutException", isConnectionError: false)
            == .retry(.transient(code: "RequestTimeoutException")))
        for status in [500, 502, 503, 504] {
            #expect(policy.classify(status: status, errorCode: "InternalFailure", isConnectionError: false) == .retry(.serverError(status: status)))
        }
        #expect(policy.classify(status: 429, errorCode: nil, isConnectionError: false) == .retry(.throttled(code: "TooManyRequests")))
        #expect(policy.classify(status: nil, errorCode: nil, isConnectionError: true) == .retry(.connectionError))
        #expect(policy.classify(status: 400, errorCode: "ValidationException", isConnectionError: false) == .doNotRetry)
        #expect(policy.classify(status: 403, errorCode: "SignatureDoesNotMatch", isConnectionError: false) == .doNotRetry)
        #expect(policy.classify(status: 501, errorCode: nil, isConnectionError: false) == .doNotRetry)
        #expect(policy.classify(status: 424, errorCode: "ModelError", isConnectionError: false) == .doNotRetry)
    }

    @Test func noticesReadLikeACellWouldPrintThem() {
        #expect(RetryNotice(reason: .throttled(code: "ThrottlingException"), delay: .milliseconds(800), attempt: 2, maxAttempts: 3).description
            == "throttled (ThrottlingException), retrying in 0.8 s (attempt 2 of 3)")
        #expect(RetryNotice(reason: .serverError(status: 503), delay: .milliseconds(12_345), attempt: 3, maxAttempts: 3).description
            == "server error (HTTP 503), retrying in 12.3 s (attempt 3 of 3)")
        #expect(RetryNotice(reason: .connectionError, delay: .milliseconds(42), attempt: 2, maxAttempts: 5).description
            == "connection error, retrying in 42 ms (attempt 2 of 5)")
        #expect(RetryNotice(reason: .transient(code: "RequestTimeout"), delay: .milliseconds(1999), attempt: 2, maxAttempts: 3).description
            == "transient error (RequestTimeout), retrying in 2.0 s (attempt 2 of 3)")
    }

    @Test func retriesUntilSuccessReportingEachRetry() async throws {
        let policy = policy(random: 0.5)
        var notices: [String] = []
        var slept: [Duration] = []
        var attempts: [Int] = []
        let result = try await policy.run(
            isRetryable: classify(policy), onRetry: { notices.append($0.description) }, sleep: { slept.append($0) }
        ) { attempt in
            attempts.append(attempt)
            if attempt == 0 { throw Failure(status: 400, code: "ThrottlingException") }
            if attempt == 1 { throw Failure(status: 503, code: "ServiceUnavailable") }
            return "ok"
        }
        #expect(result == "ok")
        #expect(attempts == [0, 1, 2])
        #expect(slept == [.milliseconds(500), .seconds(1)])
        #expect(notices == [
            "throttled (ThrottlingException), retrying in 0.5 s (attempt 2 of 3)",
            "server error (HTTP 503), retrying in 1.0 s (attempt 3 of 3)",
        ])
    }

    @Test func givesUpAfterMaxAttemptsWithTheLastError() async {
        let policy = policy(maxAttempts: 3)
        var attempts = 0
        let error = await #expect(throws: Failure.self) {
            try await policy.run(isRetryable: classify(policy), sleep: { _ in }) { attempt -> Int in
                attempts += 1
                throw Failure(status: 500, code: "InternalFailure\(attempt)")
            }
        }
        #expect(attempts == 3)
        #expect(error?.code == "InternalFailure2")
    }

    @Test func doesNotRetryWhatIsNotRetryable() async {
        let policy = policy()
        var attempts = 0
        await #expect(throws: Failure(status: 400, code: "ValidationException")) {
            try await policy.run(isRetryable: classify(policy), sleep: { _ in Issue.record("no sleep expected") }) { _ -> Int in
                attempts += 1
                throw Failure(status: 400, code: "ValidationException")
            }
        }
        #expect(attempts == 1)
    }

    @Test func aCreateIsNotRepeatedAfterAConnectionErrorWithoutVerification() async {
        let policy = policy()
        var attempts = 0
        await #expect(throws: Failure(connection: true)) {
            try await policy.run(idempotent: false, isRetryable: classify(policy), sleep: { _ in }) { _ -> Int in
                attempts += 1
                throw Failure(connection: true)
            }
        }
        #expect(attempts == 1)
        // Throttling means it was refused: safe to repeat even a create.
        attempts = 0
        let value = try? await policy.run(idempotent: false, isRetryable: classify(policy), sleep: { _ in }) { attempt -> Int in
            attempts += 1
            if attempt == 0 { throw Failure(status: 400, code: "ThrottlingException") }
            return 7
        }
        #expect(value == 7)
        #expect(attempts == 2)
    }

    @Test func verificationFindsTheCreateDidHappen() async throws {
        let policy = policy()
        var attempts = 0
        var verified = 0
        let arn = try await policy.run(
            idempotent: false, isRetryable: classify(policy),
            verifyBeforeRetry: { _ in
                verified += 1
                return "arn:found-by-describe"
            },
            sleep: { _ in Issue.record("no sleep expected") }
        ) { _ -> String in
            attempts += 1
            throw Failure(status: 504, code: nil)
        }
        #expect(arn == "arn:found-by-describe")
        #expect(attempts == 1)
        #expect(verified == 1)
    }

    @Test func verificationFindsNothingSoTheCreateIsRepeated() async throws {
        let policy = policy()
        var attempts = 0
        let arn = try await policy.run(
            idempotent: false, isRetryable: classify(policy), verifyBeforeRetry: { _ in nil }, sleep: { _ in }
        ) { attempt -> String in
            attempts += 1
            if attempt == 0 { throw Failure(connection: true) }
            return "arn:created"
        }
        #expect(arn == "arn:created")
        #expect(attempts == 2)
    }

    @Test func cancellationStopsBetweenAttempts() async {
        let policy = RetryPolicy(maxAttempts: 10, random: { 1 })
        let task = Task {
            try await policy.run(isRetryable: { _ in .retry(.connectionError) }) { _ -> Int in
                throw Failure(connection: true)
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
    }

    @Test func anOperationCancelledInFlightIsNotRetried() async {
        let policy = policy()
        var attempts = 0
        await #expect(throws: CancellationError.self) {
            try await policy.run(isRetryable: { _ in .retry(.connectionError) }, sleep: { _ in }) { _ -> Int in
                attempts += 1
                throw CancellationError()
            }
        }
        #expect(attempts == 1)
    }

    @Test func whatMayHaveTakenEffect() {
        #expect(RetryReason.connectionError.mayHaveTakenEffect)
        #expect(RetryReason.transient(code: "RequestTimeout").mayHaveTakenEffect)
        #expect(RetryReason.serverError(status: 500).mayHaveTakenEffect)
        #expect(!RetryReason.serverError(status: 503).mayHaveTakenEffect)
        #expect(!RetryReason.throttled(code: "SlowDown").mayHaveTakenEffect)
    }
}
