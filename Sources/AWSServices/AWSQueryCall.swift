import AWSCore

/// The Query protocol (STS, IAM): a form-encoded POST naming the action and API version,
/// answered with XML.
enum AWSQueryCall {
    static func make(action: String, version: String, parameters: [(String, String)] = []) -> AWSCall {
        let body = AWSURIEncoding.form([("Action", action), ("Version", version)] + parameters)
        return AWSCall(operation: action, headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"],
                       body: Array(body.utf8))
    }

    /// The response's fields, or `malformedResponse`.
    static func fields(_ body: [UInt8], service: String, operation: String) throws -> XMLFields {
        do {
            return try XMLFields(bytes: body)
        } catch {
            throw AWSRequestError.malformedResponse(service: service, operation: operation, reason: "the body is not XML (\(error))")
        }
    }

    /// A field that must be there.
    static func required(_ fields: XMLFields, _ path: [String], service: String, operation: String) throws -> String {
        guard let value = fields.text(at: path), !value.isEmpty else {
            throw AWSRequestError.malformedResponse(
                service: service, operation: operation, reason: "it has no <\(path.joined(separator: "><"))>")
        }
        return value
    }
}
