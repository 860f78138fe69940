import Foundation
import SystemKit
import Testing
@testable import AWSCore

/// Behaviour beyond the suite: S3's unnormalized paths, the double-encoded paths of other services,
/// and what the signer adds to or replaces in a request. Expected signatures marked "botocore" come
/// from botocore 1.43 (S3SigV4Auth / SigV4Auth) with the clock frozen at 2015-08-30T12:36:00Z.
@Suite struct SigV4SignerTests {
    let credentials = AWSCredentials(accessKeyID: SigV4SuiteCase.accessKeyID, secretAccessKey: SigV4SuiteCase.secret, source: "test")
    let date = SigV4SuiteCase.date

    func header(_ name: String, in headers: [(name: String, value: String)]) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    @Test func signingKeyMatchesTheAWSDocumentationExample() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "iam")
        let key = signer.signingKey(Date(timeIntervalSince1970: 1_329_264_000)) // 2012-02-15
        #expect(SHA256Digest.hexString(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test func s3KeepsDoubleSlashesAndSignsThePayloadHash() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let url = "https://s3.us-east-1.amazonaws.com/my-bucket/my-object//example//photo.user"
        let headers = [(name: "Content-Type", value: "text/plain")]
        let creq = signer.canonicalRequest(method: "PUT", url: url, headers: headers, body: Array("hello".utf8), date: date, options: .s3)
        #expect(creq == """
            PUT
            /my-bucket/my-object//example//photo.user

            content-type:text/plain
            host:s3.us-east-1.amazonaws.com
            x-amz-content-sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
            x-amz-date:20150830T123600Z

            content-type;host;x-amz-content-sha256;x-amz-date
            2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
            """)
        let signed = signer.sign(method: "PUT", url: url, headers: headers, body: Array("hello".utf8), date: date, options: .s3)
        #expect(header("x-amz-content-sha256", in: signed) == ["2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"])
        #expect(header("Authorization", in: signed) == [
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=f982c464d760c98b308bea81fbb4e68b4b8002662c80d5af7b7592dc4f0c7640", // botocore
        ])
        // The same path normalized would sign something else: S3 would reject it.
        let normalized = signer.canonicalRequest(method: "PUT", url: url, headers: headers, body: [], date: date)
        #expect(normalized.split(separator: "\n")[1] == "/my-bucket/my-object/example/photo.user")
    }

    @Test func s3EncodesOnceAndKeepsDotSegments() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let url = "https://s3.us-east-1.amazonaws.com/my-bucket/a%20b/../c.txt?list-type=2&prefix=a%2Fb"
        let creq = signer.canonicalRequest(method: "GET", url: url, headers: [], body: [], date: date, options: .s3)
        let lines = creq.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[1] == "/my-bucket/a%20b/../c.txt")
        #expect(lines[2] == "list-type=2&prefix=a%2Fb")
        let signed = signer.sign(method: "GET", url: url, headers: [], body: [], date: date, options: .s3)
        #expect(header("Authorization", in: signed).first?.hasSuffix("Signature=831b6dfa1e9903eb3e4838ed21ebc3ccc96aefcf57c37cece8199e20025bb957") == true) // botocore
        // A raw space gives the same canonical path as its encoded form.
        let raw = signer.canonicalRequest(method: "GET", url: "https://s3.us-east-1.amazonaws.com/my-bucket/a b/../c.txt?list-type=2&prefix=a%2Fb",
                                          headers: [], body: [], date: date, options: .s3)
        #expect(raw == creq)
    }

    @Test func otherServicesEncodeTheWirePathAgain() {
        let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "sagemaker")
        let url = "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/my%20ep/invocations"
        let headers = [(name: "Content-Type", value: "application/json"), (name: "Accept", value: "application/json")]
        let body = Array(#"{"inputs":"hi"}"#.utf8)
        let creq = signer.canonicalRequest(method: "POST", url: url, headers: headers, body: body, date: date)
        #expect(creq.split(separator: "\n")[1] == "/endpoints/my%2520ep/invocations")
        let signed = signer.sign(method: "POST", url: url, headers: headers, body: body, date: date)
        #expect(header("Authorization", in: signed) == [
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/sagemaker/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=0e7e5237ae632392c904e90d9c244884a5e719d0acde5c8b410ee2a56cebc4cc", // botocore
        ])
        #expect(header("x-amz-content-sha256", in: signed).isEmpty)
    }

    @Test func addsHostFromTheURLWithoutADefaultPort() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "sts")
        let custom = signer.sign(method: "GET", url: "http://localhost:5000/", headers: [], body: [], date: date)
        #expect(header("Host", in: custom) == ["localhost:5000"])
        let standard = signer.sign(method: "GET", url: "https://sts.us-east-1.amazonaws.com:443/?Action=GetCallerIdentity", headers: [], body: [], date: date)
        #expect(header("Host", in: standard) == ["sts.us-east-1.amazonaws.com"])
        let given = signer.sign(method: "GET", url: "http://127.0.0.1:5000/", headers: [(name: "host", value: "example.com")], body: [], date: date)
        #expect(header("Host", in: given) == ["example.com"])
    }

    @Test func replacesHeadersItOwnsAndLeavesOthersUnsigned() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s", sessionToken: "new-token", source: "t"),
                                 region: "us-east-1", service: "sts")
        let stale = [
            (name: "authorization", value: "old"), (name: "X-Amz-Date", value: "20000101T000000Z"),
            (name: "X-Amz-Security-Token", value: "old-token"), (name: "User-Agent", value: "cellbook/1"),
        ]
        let signed = signer.sign(method: "POST", url: "https://sts.us-east-1.amazonaws.com/", headers: stale, body: [], date: date)
        #expect(header("Authorization", in: signed).count == 1)
        #expect(header("X-Amz-Date", in: signed) == ["20150830T123600Z"])
        #expect(header("X-Amz-Security-Token", in: signed) == ["new-token"])
        #expect(header("User-Agent", in: signed) == ["cellbook/1"])
        #expect(header("Authorization", in: signed)[0].contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"))
    }

    @Test func aCallerSuppliedPayloadHashIsSignedAsGiven() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let signed = signer.sign(method: "PUT", url: "https://s3.us-east-1.amazonaws.com/b/k",
                                 headers: [(name: "X-Amz-Content-SHA256", value: "UNSIGNED-PAYLOAD")], body: Array("x".utf8), date: date, options: .s3)
        #expect(header("x-amz-content-sha256", in: signed) == ["UNSIGNED-PAYLOAD"])
        let creq = signer.canonicalRequest(method: "PUT", url: "https://s3.us-east-1.amazonaws.com/b/k",
                                           headers: [(name: "X-Amz-Content-SHA256", value: "UNSIGNED-PAYLOAD")], body: Array("x".utf8), date: date, options: .s3)
        #expect(creq.hasSuffix("\nUNSIGNED-PAYLOAD"))
    }

    @Test func queryIsDecodedThenStrictlyEncodedAndSorted() {
        #expect(SigV4Canonical.query("b=2&a=%7e&c&a=1+1") == "a=1%2B1&a=~&b=2&c=")
        #expect(SigV4Canonical.query("") == "")
        #expect(SigV4Canonical.decode("100%") == "100%")
    }
}
