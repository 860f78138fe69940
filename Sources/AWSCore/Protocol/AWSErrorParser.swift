#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns an AWS error response into an `AWSServiceError`. It always gives one: a body it cannot
/// read still yields the HTTP status, a code named after it and the body's text.
public enum AWSErrorParser {
    /// JSON 1.0/1.1 (SageMaker control plane) and rest-json (SageMaker runtime) errors.
    /// The code comes from the `X-Amzn-ErrorType` header, else the body's `__type`, `code` or
    /// `Code`; the message from `message`, `Message` or `errorMessage`.
    public static func jsonProtocol(
        status: Int, headers: [String: String], body: [UInt8], service: String, operation: String
    ) -> AWSServiceError {
        let parsed = JSONErrorBody.parse(body)
        let rawCode = header("x-amzn-errortype", in: headers) ?? parsed?.type ?? parsed?.code
        let code = rawCode.map(sanitizeCode).flatMap { $0.isEmpty ? nil : $0 } ?? codeForStatus(status)
        let message = parsed?.message ?? (parsed == nil ? bodyText(body) : "")
        return AWSServiceError(
            service: service, operation: operation, httpStatus: status, code: code, message: message,
            requestID: requestID(headers) ?? parsed?.requestID)
    }

    /// Query-protocol (STS, IAM: `<ErrorResponse><Error><Code>`) and S3 (`<Error><Code>`)
    /// errors. HEAD responses have no body: the code then comes from the status (404
    /// `NotFound`, 403 `Forbidden`, ...), and a 301 names the bucket's region when S3 sent it.
    public static func queryProtocol(
        status: Int, headers: [String: String], body: [UInt8], service: String, operation: String
    ) -> AWSServiceError {
        let fields = try? XMLFields(bytes: body)
        var code = fields.flatMap { $0.text(at: ["Error", "Code"]) ?? $0.firstText(named: "Code") }?.trimmed ?? ""
        var message = fields.flatMap { $0.text(at: ["Error", "Message"]) ?? $0.firstText(named: "Message") }?.trimmed
            ?? (fields == nil ? bodyText(body) : "")
        if code.isEmpty { code = codeForStatus(status) }
        if message.isEmpty, let region = header("x-amz-bucket-region", in: headers), status == 301 || status == 400 {
            message = "the bucket is in region \(region)"
        }
        let bodyRequestID = fields.flatMap { $0.firstText(named: "RequestId") ?? $0.firstText(named: "RequestID") }?.trimmed
        return AWSServiceError(
            service: service, operation: operation, httpStatus: status, code: code, message: message,
            requestID: requestID(headers) ?? bodyRequestID)
    }

    /// The bare code of a namespaced or annotated one:
    /// `com.amazonaws.sagemaker#ValidationException:http://internal...` gives
    /// `ValidationException` (cut at the first `:`, then keep what follows the last `#`).
    public static func sanitizeCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        return String(code).trimmed
    }

    /// A code for a response that carried none.
    static func codeForStatus(_ status: Int) -> String {
        switch status {
        case 301: "PermanentRedirect"
        case 304: "NotModified"
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 413: "RequestEntityTooLarge"
        case 429: "TooManyRequests"
        case 500: "InternalServerError"
        case 502: "BadGateway"
        case 503: "ServiceUnavailable"
        case 504: "GatewayTimeout"
        default: "HTTP\(status)"
        }
    }

    static func requestID(_ headers: [String: String]) -> String? {
        header("x-amzn-requestid", in: headers) ?? header("x-amz-request-id", in: headers)
    }

    /// A header by case-insensitive name (the HTTP layer lower-cases names, fakes may not).
    static func header(_ name: String, in headers: [String: String]) -> String? {
        if let value = headers[name] { return value }
        return headers.first { $0.key.lowercased() == name }?.value
    }

    /// A body that is not the expected format (a proxy's HTML page, plain text): its start,
    /// since it usually says what went wrong.
    static func bodyText(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(512), as: UTF8.self).trimmed
        return body.count > 512 ? text + "..." : text
    }
}

/// The fields of a JSON error body, read leniently: fields of other types are ignored.
struct JSONErrorBody: Decodable, Equatable {
    var type: String?
    var code: String?
    var message: String?
    var requestID: String?

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        func text(_ names: String...) -> String? {
            for name in names {
                if let value = try? container.decodeIfPresent(String.self, forKey: Key(stringValue: name)) { return value }
            }
            return nil
        }
        type = text("__type")
        code = text("code", "Code", "ErrorCode", "errorCode")
        message = text("message", "Message", "errorMessage", "ErrorMessage")
        requestID = text("RequestId", "requestId")
    }

    /// Nil when `bytes` is not a JSON object.
    static func parse(_ bytes: some Sequence<UInt8>) -> JSONErrorBody? {
        try? JSONDecoder().decode(JSONErrorBody.self, from: Data(bytes))
    }
}

fileprivate extension String {
    var trimmed: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
