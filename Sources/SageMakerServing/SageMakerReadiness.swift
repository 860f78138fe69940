import AWSCore
import AWSServices
import CellbookHTTP
import Foundation
import PlaybookModel
import ServingKit

/// What a run on the sagemaker target needs, checked before the day (`cellbook doctor`):
/// credentials (and where they were found), a region, the caller's identity (one signed STS
/// call), the execution role, and the one thing it cannot check without Service Quotas.
public struct SageMakerReadiness: Sendable {
    public let request: ReadinessRequest
    public let client: HTTPClient

    public init(request: ReadinessRequest, client: HTTPClient) {
        self.request = request
        self.client = client
    }

    public func checks() async -> [ReadinessCheck] {
        var checks: [ReadinessCheck] = []
        let config = AWSConfigEnvironment(environment: request.environment)
        var credentials: AWSCredentials?
        do {
            let found = try AWSCredentialChain.resolve(config)
            credentials = found
            checks.append(ReadinessCheck("credentials", .ok, "access key \(found.accessKeyID) from \(found.source)"))
        } catch {
            // The error names every place looked and what to do.
            checks.append(ReadinessCheck("credentials", .missing, "\(error)"))
        }
        var region: (region: String, source: String)?
        do {
            let explicit = request.setting("region").map { ($0, "the target's region setting") }
                ?? request.parameter("region").map { ($0, "the playbook's region param") }
            region = try AWSRegionResolver.resolve(config, explicit: explicit?.0)
            checks.append(ReadinessCheck("region", .ok, "\(region!.region) (from \(explicit?.1 ?? region!.source))"))
        } catch {
            checks.append(ReadinessCheck("region", .missing, "\(error)", fix: "export AWS_REGION=us-east-1, or set the target's region setting"))
        }
        let instanceType = request.parameter("instance_type") ?? "ml.p4d.24xlarge"
        let quota = ReadinessCheck("endpoint quota", .warn,
                                   "cannot check offline: ask Service Quotas for \"\(instanceType) for endpoint usage\" (new accounts often have 0)",
                                   fix: "aws service-quotas list-service-quotas --service-code sagemaker --query \"Quotas[?QuotaName=='\(instanceType) for endpoint usage']\"; request an increase if it is 0")
        guard let credentials, let region else {
            checks.append(ReadinessCheck("caller identity", .skipped, "needs credentials and a region"))
            checks.append(ReadinessCheck("execution role", .skipped, "needs the caller identity"))
            checks.append(quota)
            return checks
        }
        var session = AWSSession(credentials: credentials, region: region.region, regionSource: region.source, config: config, http: client,
                                 retry: RetryPolicy(maxAttempts: 2))
        session.onRetry = nil
        let identity: (account: String, arn: String, userID: String)
        do {
            identity = try await STSClient(session).getCallerIdentity()
            checks.append(ReadinessCheck("caller identity", .ok, "\(identity.arn) (account \(identity.account))"))
        } catch {
            checks.append(ReadinessCheck("caller identity", .missing, "STS GetCallerIdentity failed: \(error)", fix: Self.hint(for: error)))
            checks.append(ReadinessCheck("execution role", .skipped, "needs the caller identity"))
            checks.append(quota)
            return checks
        }
        checks.append(await role(session: session, caller: identity.arn))
        checks.append(quota)
        return checks
    }

    /// The role setup would use: role_arn, else the caller's assumed role, else GetRole of the fallback name.
    func role(session: AWSSession, caller: String) async -> ReadinessCheck {
        if let explicit = request.setting("role_arn") {
            return ReadinessCheck("execution role", .ok, "\(explicit) (target setting role_arn; not looked up)")
        }
        if let assumed = SageMakerTarget.roleARN(fromAssumedRole: caller) {
            return ReadinessCheck("execution role", .ok, "\(assumed) (the caller's assumed role)")
        }
        let name = request.setting("role_name") ?? "sagemaker_execution_role"
        do {
            let role = try await IAMClient(session).getRole(name: name)
            return ReadinessCheck("execution role", .ok, "\(role.arn) (the caller is not an assumed role: the fallback '\(name)', found by IAM GetRole)")
        } catch let error as AWSServiceError where error.isNotFound || error.code == "NoSuchEntity" {
            return ReadinessCheck("execution role", .missing, "the caller is not an assumed role, and the fallback role '\(name)' does not exist",
                                  fix: "create an execution role named \(name) trusting sagemaker.amazonaws.com (with AmazonSageMakerFullAccess), or set the target's role_arn")
        } catch {
            return ReadinessCheck("execution role", .missing, "IAM GetRole \(name) failed: \(error)", fix: Self.hint(for: error))
        }
    }

    static func hint(for error: Error) -> String {
        if let e = error as? AWSServiceError {
            if e.isCredentialProblem { return "AWS refused the credentials: check the keys (or the profile's) and that the clock is right" }
            if e.isAccessDenied { return "the caller lacks this permission: see the IAM policy of the user or role" }
        }
        if error is AWSRequestError { return "is the network up, and AWS_ENDPOINT_URL (if set) right?" }
        return "see the message"
    }
}
