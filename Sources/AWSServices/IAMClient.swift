import AWSCore

/// AWS Identity and Access Management: looking up the SageMaker execution role.
/// IAM is global: signed for the partition's home region (us-east-1), host iam.amazonaws.com.
public struct IAMClient: Sendable {
    let sender: AWSRequestSender

    public init(_ session: AWSSession) {
        sender = AWSRequestSender(session: session, service: "IAM", serviceID: "IAM", errorFormat: .xml)
    }

    /// The role's ARN and name. A missing role is an `AWSServiceError` with code `NoSuchEntity`
    /// (`isNotFound`).
    public func getRole(name: String) async throws -> (arn: String, name: String) {
        let call = AWSQueryCall.make(action: "GetRole", version: "2010-05-08", parameters: [("RoleName", name)])
        return try await sender.send(call) { response in
            let fields = try AWSQueryCall.fields(response.body, service: "IAM", operation: call.operation)
            let arn = try AWSQueryCall.required(fields, ["GetRoleResult", "Role", "Arn"], service: "IAM", operation: call.operation)
            return (arn, fields.text(at: ["GetRoleResult", "Role", "RoleName"]) ?? name)
        }
    }
}
