import AWSTestSupport
import AWSCore
@testable import AWSServices
import CellbookHTTP
import Foundation
import Testing

/// Retries against fake_sagemaker.py, whose scenario knobs throttle, fail or drop the first
/// requests of an operation. Waits are recorded, not slept.
@Suite struct AWSRequestSenderTests {
    static let preexisting = #""preexisting_endpoints": ["llama3-endpoint"]"#

    @Test func throttledTwiceThenSucceeds() async throws {
        let fake = try FakeSageMaker(scenario: #"{\#(Self.preexisting), "faults": {"DescribeEndpoint": {"throttle": 2}}}"#)
        let notices = RetryNotices()
        let endpoint = try await SageMakerClient(fake.session(notices: notices)).describeEndpoint(name: "llama3-endpoint")
        #expect(endpoint?.status == .inService)
        #expect(notices.messages == [
            "SageMaker DescribeEndpoint throttled (ThrottlingException), retrying in 1.0 s (attempt 2 of 3)",
            "SageMaker DescribeEndpoint throttled (ThrottlingException), retrying in 2.0 s (attempt 3 of 3)",
        ])
        #expect(notices.sleeps == [.seconds(1), .seconds(2)])
        #expect(try await fake.log().map(\.status) == ["400", "400", "200"])
    }

    @Test func unavailableTwiceThenSucceeds() async throws {
        let fake = try FakeSageMaker(scenario: #"{\#(Self.preexisting), "faults": {"ListEndpoints": {"unavailable": 2}}}"#)
        let notices = RetryNotices()
        let endpoints = try await SageMakerClient(fake.session(notices: notices)).listEndpoints()
        #expect(endpoints.map(\.name) == ["llama3-endpoint"])
        #expect(notices.messages.count == 2)
        #expect(notices.messages.first?.hasPrefix("SageMaker ListEndpoints server error (HTTP 503), retrying in") == true)
    }

    @Test func givesUpAfterMaxAttemptsWithTheLastError() async throws {
        let fake = try FakeSageMaker(scenario: #"{\#(Self.preexisting), "faults": {"DescribeEndpoint": ["throttle", "throttle", "unavailable", null]}}"#)
        let notices = RetryNotices()
        let error = try await #require(throws: AWSServiceError.self) {
            try await SageMakerClient(fake.session(notices: notices)).describeEndpoint(name: "llama3-endpoint")
        }
        #expect(error.httpStatus == 503)
        #expect(error.code == "ServiceUnavailable")
        #expect(notices.messages.count == 2)
        #expect(try await fake.log().count == 3)
    }

    @Test func validationErrorsAreNotRetried() async throws {
        let fake = try FakeSageMaker()
        let notices = RetryNotices()
        let error = try await #require(throws: AWSServiceError.self) {
            try await SageMakerClient(fake.session(notices: notices)).createEndpoint(name: "e1", configName: "no-such-config")
        }
        #expect(error.code == "ValidationException")
        #expect(notices.messages.isEmpty)
    }

    @Test func aCreateThatMayHaveWorkedIsCheckedBeforeItIsRepeated() async throws {
        // A 500 may come after the work was done: describe first, create again only if absent.
        let fake = try FakeSageMaker(scenario: #"{"faults": {"CreateModel": ["internal"]}}"#)
        let notices = RetryNotices()
        let arn = try await SageMakerClient(fake.session(notices: notices)).createModel(
            name: "m1", executionRoleARN: "arn:aws:iam::123456789012:role/r", image: "img", environment: [:])
        #expect(arn.hasSuffix(":model/m1"))
        #expect(try await fake.log().map(\.op) == ["CreateModel", "DescribeModel", "CreateModel"])
        #expect(notices.messages.first?.hasPrefix("SageMaker CreateModel server error (HTTP 500)") == true)
    }

    @Test func aDroppedCreateIsCheckedBeforeItIsRepeated() async throws {
        let fake = try FakeSageMaker(scenario: #"{"faults": {"CreateEndpoint": ["drop"]}}"#)
        let sagemaker = SageMakerClient(fake.session())
        _ = try await sagemaker.createModel(name: "m", executionRoleARN: "arn:aws:iam::123456789012:role/r", image: "i", environment: [:])
        _ = try await sagemaker.createEndpointConfig(name: "c", modelName: "m", instanceType: "ml.g5.12xlarge")
        // The same client, whose connection the calls above left open: libcurl would resend a
        // request that got no answer on a reused connection by itself, before cellbook sees the
        // failure, unless the create goes out on a fresh connection.
        let arn = try await sagemaker.createEndpoint(name: "e", configName: "c")
        #expect(arn.hasSuffix(":endpoint/e"))
        let log = try await fake.log()
        #expect(log.map(\.op).suffix(3) == ["CreateEndpoint", "DescribeEndpoint", "CreateEndpoint"], "\(log)")
    }

    @Test func aNonIdempotentCallIsNotRepeatedAfterALostConnection() async throws {
        let fake = try FakeSageMaker(scenario: #"{"faults": {"CreateEndpoint": ["drop"]}}"#)
        let sender = try #require(SageMakerClient(fake.session()).sender as AWSRequestSender?)
        let call = AWSCall(operation: "CreateEndpoint", headers: [
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.CreateEndpoint",
        ], body: Array(#"{"EndpointName": "e", "EndpointConfigName": "c"}"#.utf8))
        let error = try await #require(throws: AWSRequestError.self) { try await sender.send(call, idempotent: false) }
        guard case .outcomeUnknown(let service, let operation, _) = error else {
            Issue.record("expected outcomeUnknown, got \(error)")
            return
        }
        #expect(service == "SageMaker" && operation == "CreateEndpoint")
        #expect(error.description.contains("may or may not have been carried out"))
        #expect(try await fake.log().count == 1)
    }

    @Test func connectionFailuresAreRetriedThenReported() async throws {
        let env = AWSConfigEnvironment(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:\(unusedLoopbackPort())"],
                                       homeDirectory: "/nonexistent")
        let notices = RetryNotices()
        let session = AWSSession(
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "top-secret-key", sessionToken: "token-xyz", source: "test"),
            region: "us-east-1", config: env, http: HTTPClient(), retry: RetryPolicy(random: { 0 }),
            onRetry: { notices.add($0) }, sleep: { notices.slept($0) })
        let error = try await #require(throws: AWSRequestError.self) { try await STSClient(session).getCallerIdentity() }
        guard case .connectionFailed(_, _, .connectionRefused, 3) = error else {
            Issue.record("expected connectionFailed after 3 attempts, got \(error)")
            return
        }
        #expect(error.description.hasPrefix("STS GetCallerIdentity got no answer (3 attempts): Connection refused"))
        #expect(!error.description.contains("top-secret-key") && !error.description.contains("token-xyz"))
        #expect(notices.messages == [
            "STS GetCallerIdentity connection error, retrying in 0 ms (attempt 2 of 3)",
            "STS GetCallerIdentity connection error, retrying in 0 ms (attempt 3 of 3)",
        ])
    }

    @Test func xmlErrorsOnAJSONServiceAreRead() {
        let env = AWSConfigEnvironment(environment: [:], homeDirectory: "/nonexistent")
        let session = AWSSession(credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s", source: "test"),
                                 region: "us-east-1", config: env, http: HTTPClient())
        let sender = AWSRequestSender(session: session, service: "SageMaker", serviceID: "SageMaker", errorFormat: .json)
        let xml = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></Errors></ErrorResponse>"
        let error = sender.serviceError(HTTPResponse(status: 403, headers: ["content-type": "text/html"], body: Array(xml.utf8)),
                                        operation: "DescribeEndpoint")
        #expect(error.code == "InvalidClientTokenId")
        #expect(error.message == "The security token included in the request is invalid.")

        let html = sender.serviceError(HTTPResponse(status: 502, headers: [:], body: Array("<html><body>Bad Gateway</body></html>".utf8)),
                                       operation: "DescribeEndpoint")
        #expect(html.code == "BadGateway")
        #expect(html.message.contains("Bad Gateway"))
    }
}

/// A loopback port nothing listens on: bound, then closed again.
func unusedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
