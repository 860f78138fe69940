/// An access key pair, with a session token when temporary, and where it was found.
/// Printing it (description, debugDescription, dump) shows the key id and source, never the
/// secret or the token: these values end up in logs and error messages.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// Where the keys came from, e.g. "environment (AWS_ACCESS_KEY_ID)" or "/home/me/.aws/credentials [default]".
    public var source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.source = source
    }

    public var description: String {
        "access key \(accessKeyID)\(sessionToken == nil ? "" : " (temporary, with session token)") from \(source)"
    }

    public var debugDescription: String { "AWSCredentials(\(description))" }

    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID, "hasSessionToken": sessionToken != nil, "source": source])
    }
}
