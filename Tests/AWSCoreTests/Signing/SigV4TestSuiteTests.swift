import Foundation
import Testing
@testable import AWSCore

/// The AWS SigV4 test suite as shipped in botocore (Fixtures/aws4_testsuite): every case's canonical
/// request, string to sign and Authorization header must match the files byte for byte.
@Suite struct SigV4TestSuiteTests {
    static let cases = [
        "get-header-key-duplicate", "get-header-value-multiline", "get-header-value-order", "get-header-value-trim",
        "get-unreserved", "get-utf8", "get-vanilla", "get-vanilla-empty-query-key", "get-vanilla-query",
        "get-vanilla-query-order-encoded", "get-vanilla-query-order-key", "get-vanilla-query-order-key-case",
        "get-vanilla-query-order-value", "get-vanilla-query-unreserved", "get-vanilla-utf8-query",
        "get-vanilla-with-session-token",
        "normalize-path/get-relative", "normalize-path/get-relative-relative", "normalize-path/get-slash",
        "normalize-path/get-slash-dot-slash", "normalize-path/get-slash-pointless-dot", "normalize-path/get-slashes",
        "normalize-path/get-space", "normalize-path/get-special-character",
        "post-header-key-case", "post-header-key-sort", "post-header-value-case",
        "post-sts-token/post-sts-header-after", "post-sts-token/post-sts-header-before",
        "post-vanilla", "post-vanilla-empty-query-value", "post-vanilla-query",
        "post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters",
    ]

    @Test(arguments: cases)
    func vector(_ name: String) throws {
        let vector = try SigV4SuiteCase(name)
        let signer = SigV4Signer(credentials: vector.credentials, region: "us-east-1", service: "service")
        let request = vector.request
        let canonical = signer.canonicalRequest(method: request.method, url: request.url, headers: request.headers,
                                                body: request.body, date: SigV4SuiteCase.date, options: vector.options)
        #expect(canonical == vector.creq)
        #expect(signer.stringToSign(canonicalRequest: canonical, date: SigV4SuiteCase.date) == vector.sts)

        let signed = signer.sign(method: request.method, url: request.url, headers: request.headers,
                                 body: request.body, date: SigV4SuiteCase.date, options: vector.options)
        #expect(signed.filter { $0.name == "Authorization" }.map(\.value) == [vector.authz])
        #expect(signed.filter { $0.name.lowercased() == "x-amz-date" }.map(\.value) == ["20150830T123600Z"])
        let tokens = signed.filter { $0.name.lowercased() == "x-amz-security-token" }.map(\.value)
        #expect(tokens == (vector.credentials.sessionToken.map { [$0] } ?? []))
    }

    /// A case added to the fixtures but not to `cases` would otherwise go untested.
    @Test func everyCopiedCaseIsListed() throws {
        let root = try SigV4SuiteCase.root().resolvingSymlinksInPath()
        let found = FileManager.default.enumerator(atPath: root.path)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".req") }
            .map { ($0 as NSString).deletingLastPathComponent }
        #expect(Set(found) == Set(Self.cases))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("LICENSE").path))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("NOTICE").path))
    }

    @Test func sessionTokenIsSignedAndSent() throws {
        let vector = try SigV4SuiteCase("get-vanilla-with-session-token")
        #expect(vector.credentials.sessionToken == "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")
        #expect(vector.creq.contains("host;x-amz-date;x-amz-security-token"))
    }
}

/// One suite case read from the bundle: the raw request (`.req`) and the expected outputs.
struct SigV4SuiteCase {
    static let accessKeyID = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let date = Date(timeIntervalSince1970: 1_440_938_160) // 2015-08-30T12:36:00Z
    /// From post-sts-token/readme.txt: the token the "after" case adds once the request is signed.
    static let stsExampleToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    struct Request {
        var method: String
        var url: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    var request: Request
    var creq: String
    var sts: String
    var authz: String
    var credentials: AWSCredentials
    var options = SigV4Options()

    static func root() throws -> URL {
        try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/aws4_testsuite")
    }

    init(_ name: String) throws {
        let base = try Self.root().appendingPathComponent(name).appendingPathComponent((name as NSString).lastPathComponent)
        func read(_ ext: String) throws -> String {
            try String(contentsOf: base.appendingPathExtension(ext), encoding: .utf8).replacingOccurrences(of: "\r", with: "")
        }
        request = try Self.parse(read("req"))
        creq = try read("creq")
        sts = try read("sts")
        authz = try read("authz")
        // As botocore's runner does: the token is whatever the canonical request signs.
        var token = creq.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }
            .map { String($0.dropFirst("x-amz-security-token:".count)) }
        if name == "post-sts-token/post-sts-header-after" {
            token = Self.stsExampleToken
            options.omitSessionTokenFromSignature = true
        }
        credentials = AWSCredentials(accessKeyID: Self.accessKeyID, secretAccessKey: Self.secret, sessionToken: token, source: "test suite")
    }

    /// "METHOD path HTTP/1.1", header lines (an indented line continues the previous value), a
    /// blank line, the body. The path may hold raw spaces (get-space), hence the split on " HTTP/".
    static func parse(_ text: String) throws -> Request {
        let (head, body): (Substring, Substring)
        if let blank = text.range(of: "\n\n") {
            (head, body) = (text[..<blank.lowerBound], text[blank.upperBound...])
        } else {
            (head, body) = (Substring(text), "")
        }
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false)
        let requestLine = lines.removeFirst()
        let space = try #require(requestLine.firstIndex(of: " "))
        let version = try #require(requestLine.range(of: " HTTP/", options: .backwards))
        let method = String(requestLine[..<space])
        let target = String(requestLine[requestLine.index(after: space)..<version.lowerBound])
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            if line.first == " " || line.first == "\t" {
                headers[headers.count - 1].value += "\n" + line
            } else {
                let colon = try #require(line.firstIndex(of: ":"))
                headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
            }
        }
        let host = try #require(headers.first { $0.name.lowercased() == "host" }).value
        return Request(method: method, url: "https://\(host)\(target)", headers: headers, body: Array(body.utf8))
    }
}
