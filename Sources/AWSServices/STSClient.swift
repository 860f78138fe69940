import AWSCore

/// AWS Security Token Service: who the credentials belong to.
public struct STSClient: Sendable {
    let sender: AWSRequestSender

    public init(_ session: AWSSession) {
        sender = AWSRequestSender(session: session, service: "STS", serviceID: "STS", errorFormat: .xml)
    }

    /// The account, the caller's ARN (a user, or an assumed role's session) and its user id.
    /// The cheapest proof that the credentials work: every principal may call it.
    public func getCallerIdentity() async throws -> (account: String, arn: String, userID: String) {
        let call = AWSQueryCall.make(action: "GetCallerIdentity", version: "2011-06-15")
        return try await sender.send(call) { response in
            let fields = try AWSQueryCall.fields(response.body, service: "STS", operation: call.operation)
            func field(_ name: String) throws -> String {
                try AWSQueryCall.required(fields, ["GetCallerIdentityResult", name], service: "STS", operation: call.operation)
            }
            return (try field("Account"), try field("Arn"), try field("UserId"))
        }
    }
}
