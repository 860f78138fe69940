import Foundation
import SystemKit

/// How a request is canonicalized; the defaults suit every service cellbook calls except S3.
public struct SigV4Options: Sendable, Equatable {
    /// Remove "." and ".." segments and collapse "//" in the path, then URI-encode the path as sent
    /// (so a "%" on the wire is encoded again). S3 wants neither: with `false` the path keeps its
    /// segments and is encoded once.
    public var normalizePath: Bool
    /// Add and sign `x-amz-content-sha256` (S3 requires it on every request).
    public var addContentSHA256Header: Bool
    /// Add `X-Amz-Security-Token` after signing instead of signing it; a few services want it so
    /// (the suite's post-sts-header-after case).
    public var omitSessionTokenFromSignature: Bool

    public init(normalizePath: Bool = true, addContentSHA256Header: Bool = false, omitSessionTokenFromSignature: Bool = false) {
        self.normalizePath = normalizePath
        self.addContentSHA256Header = addContentSHA256Header
        self.omitSessionTokenFromSignature = omitSessionTokenFromSignature
    }

    /// What S3 needs: the path as given, encoded once, and a signed payload hash header.
    public static let s3 = SigV4Options(normalizePath: false, addContentSHA256Header: true)
}

/// AWS Signature Version 4 for requests signed in the Authorization header.
/// Pure: a request and credentials in, headers out. No clock: the caller passes the date.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The request's headers plus Host (when absent), X-Amz-Date, X-Amz-Security-Token (when the
    /// credentials carry a token), x-amz-content-sha256 (when `options` ask) and Authorization.
    /// Headers the signer owns (Authorization, X-Amz-Date, X-Amz-Security-Token) are replaced, not duplicated.
    ///
    /// `url` is the absolute URL as it will be sent; its query must be percent-encoded (RFC 3986,
    /// "+" is a literal plus).
    public func sign(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8],
                     date: Date, options: SigV4Options = .init()) -> [(name: String, value: String)] {
        let request = prepare(method: method, url: url, headers: headers, body: body, date: date, options: options)
        let stringToSign = stringToSign(canonicalRequest: request.canonical, date: date)
        let signature = signature(stringToSign: stringToSign, date: date)
        var out = request.headers
        if let token = credentials.sessionToken, options.omitSessionTokenFromSignature {
            out.append((name: "X-Amz-Security-Token", value: token))
        }
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(date)), "
            + "SignedHeaders=\(request.signedHeaders), Signature=\(signature)"
        out.append((name: "Authorization", value: authorization))
        return out
    }

    /// The canonical request `sign` would sign (the suite's `.creq`).
    public func canonicalRequest(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8],
                                 date: Date, options: SigV4Options = .init()) -> String {
        prepare(method: method, url: url, headers: headers, body: body, date: date, options: options).canonical
    }

    /// The string to sign for a canonical request (the suite's `.sts`).
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [Self.algorithm, SigV4Canonical.amzDate(date), scope(date), SHA256Digest.hex(canonicalRequest)].joined(separator: "\n")
    }

    /// Hex HMAC of the string to sign under the derived key.
    public func signature(stringToSign: String, date: Date) -> String {
        SHA256Digest.hexString(HMACSHA256.mac(key: signingKey(date), data: stringToSign))
    }

    // MARK: - Internals

    static let algorithm = "AWS4-HMAC-SHA256"

    /// Headers never signed: proxies and HTTP stacks change them in flight (botocore's list).
    static let unsignedHeaders: Set<String> = ["authorization", "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"]

    func scope(_ date: Date) -> String {
        "\(SigV4Canonical.dateStamp(date))/\(region)/\(service)/aws4_request"
    }

    /// "AWS4"+secret → date → region → service → "aws4_request".
    func signingKey(_ date: Date) -> [UInt8] {
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [SigV4Canonical.dateStamp(date), region, service, "aws4_request"] {
            key = HMACSHA256.mac(key: key, data: part)
        }
        return key
    }

    struct Prepared {
        var headers: [(name: String, value: String)]
        var canonical: String
        var signedHeaders: String
    }

    func prepare(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8],
                 date: Date, options: SigV4Options) -> Prepared {
        let parts = SigV4URL(url)
        let owned: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]
        var out = headers.filter { !owned.contains($0.name.lowercased()) }
        if !out.contains(where: { $0.name.lowercased() == "host" }) {
            out.append((name: "Host", value: parts.hostHeader))
        }
        out.append((name: "X-Amz-Date", value: SigV4Canonical.amzDate(date)))
        if let token = credentials.sessionToken, !options.omitSessionTokenFromSignature {
            out.append((name: "X-Amz-Security-Token", value: token))
        }
        // A caller-supplied payload hash (e.g. UNSIGNED-PAYLOAD) is what S3 verifies, so it wins.
        let payloadHash: String
        if let given = out.first(where: { $0.name.lowercased() == "x-amz-content-sha256" }) {
            payloadHash = given.value
        } else {
            payloadHash = SHA256Digest.hex(body)
            if options.addContentSHA256Header { out.append((name: "x-amz-content-sha256", value: payloadHash)) }
        }

        let canonicalHeaders = SigV4Canonical.headers(out.filter { !Self.unsignedHeaders.contains($0.name.lowercased()) })
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let canonical = [
            method.uppercased(),
            options.normalizePath ? SigV4Canonical.normalizedURI(parts.path) : SigV4Canonical.unnormalizedURI(parts.path),
            SigV4Canonical.query(parts.query),
            canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(),
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        return Prepared(headers: out, canonical: canonical, signedHeaders: signedHeaders)
    }
}
