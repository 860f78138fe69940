import SystemKit

/// Workshop sessions (`--session NAME`, `CELLBOOK_SESSION`): one per attendee, each with its own
/// state and its own resource names in the shared AWS account.
public enum WorkshopSession {
    public static let maxLength = 20

    /// What is wrong with a session name, or nil. It goes into AWS resource names and tags, so
    /// it keeps to SageMaker's name characters.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "the session name is empty" }
        if name.count > maxLength { return "the session name '\(name)' is \(name.count) characters long (at most \(maxLength))" }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }), name.first != "-", name.last != "-" else {
            return "the session name '\(name)' may hold only letters, digits and inner '-' (it becomes part of AWS resource names)"
        }
        return nil
    }

    /// The endpoint name a session uses: the playbook's name plus the session, within SageMaker's
    /// 63 characters. A name too long keeps its start, a short hash of the whole (so two long
    /// names that share a start stay apart) and the session, so it stays recognisable.
    public static func endpointName(_ base: String, session: String?) -> String {
        guard let session else { return base }
        let full = "\(base)-\(session)"
        if full.count <= 63 { return full }
        let hash = String(SHA256Digest.hex(base).prefix(4))
        var keep = String(base.prefix(63 - session.count - hash.count - 2))
        while keep.hasSuffix("-") { keep.removeLast() }
        return "\(keep)-\(hash)-\(session)"
    }
}
