import AWSCore

/// Amazon S3, as much as the SageMaker session needs: does its default bucket exist, and
/// creating it. Path-style URLs (`https://s3.<region>.amazonaws.com/<bucket>`), which also
/// work against a local endpoint.
public struct S3Client: Sendable {
    let sender: AWSRequestSender

    public init(_ session: AWSSession) {
        sender = AWSRequestSender(session: session, service: "S3", serviceID: "S3", errorFormat: .xml, signingOptions: .s3)
    }

    /// HeadBucket: true when the bucket exists and these credentials may use it, false when
    /// there is no such bucket. A 403 (it exists but belongs to someone else, or no permission)
    /// and a 301 (it lives in another region) are errors that say so.
    public func bucketExists(_ name: String) async throws -> Bool {
        try Self.validate(name)
        do {
            _ = try await sender.send(AWSCall(operation: "HeadBucket", method: "HEAD", path: "/" + AWSURIEncoding.encode(name)))
            return true
        } catch var error as AWSServiceError {
            switch error.httpStatus {
            case 404:
                return false
            case 403 where error.message.isEmpty:
                // A HEAD answer has no body, so the message is ours.
                error.message = "bucket \"\(name)\" exists but belongs to another AWS account, or these credentials "
                    + "may not access it (s3:ListBucket). Pick another bucket name, or grant the permission."
            case 301 where error.message.isEmpty:
                error.message = "bucket \"\(name)\" exists in another region than \(sender.session.region)."
            default:
                break
            }
            throw error
        }
    }

    /// CreateBucket in the session's region (a LocationConstraint outside us-east-1).
    /// A bucket that already exists and is ours counts as success.
    public func createBucket(_ name: String) async throws {
        try Self.validate(name)
        let region = sender.session.region
        var body: [UInt8] = []
        var headers = ["Content-Length": "0"]
        if region != "us-east-1" {
            body = Array(Self.createBucketConfiguration(region: region).utf8)
            headers = ["Content-Type": "application/xml"]
        }
        do {
            _ = try await sender.send(AWSCall(operation: "CreateBucket", method: "PUT", path: "/" + AWSURIEncoding.encode(name),
                                              headers: headers, body: body))
        } catch let error as AWSServiceError where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    static func createBucketConfiguration(region: String) -> String {
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + "<LocationConstraint>\(region)</LocationConstraint></CreateBucketConfiguration>"
    }

    /// S3's rule for new buckets: 3 to 63 lower-case letters, digits, dots and hyphens,
    /// starting and ending with a letter or digit.
    static func validate(_ name: String) throws {
        let bytes = Array(name.utf8)
        let isAlnum: (UInt8) -> Bool = { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
        guard (3...63).contains(bytes.count), bytes.allSatisfy({ isAlnum($0) || $0 == 0x2E || $0 == 0x2D }),
              let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else {
            throw AWSRequestError.invalidName(
                kind: "S3 bucket name",
                name: name,
                rule: "use 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit")
        }
    }
}
