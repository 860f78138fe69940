import Foundation

/// The pieces of a SigV4 canonical request, each as the AWS test suite defines it.
enum SigV4Canonical {
    /// `20150830T123600Z`
    static func amzDate(_ date: Date) -> String {
        let c = utc(date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// `20150830`
    static func dateStamp(_ date: Date) -> String { String(amzDate(date).prefix(8)) }

    private static func utc(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    }

    /// Lowercased names, sorted; values trimmed with inner whitespace runs collapsed to one space;
    /// repeated headers joined with "," in the order given.
    static func headers(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for header in headers {
            let name = header.name.lowercased()
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(collapseWhitespace(header.value))
        }
        return order.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { (name: $0, value: values[$0]!.joined(separator: ",")) }
    }

    static func collapseWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0.isNewline }).joined(separator: " ")
    }

    /// Every service but S3: dot segments removed and "//" collapsed, then the path as sent is
    /// encoded (a "%" already on the wire becomes "%25": AWS double-encodes these paths).
    static func normalizedURI(_ path: String) -> String {
        encode(removeDotSegments(path), keepSlash: true)
    }

    /// S3: segments kept as they are, each decoded and encoded once, so a raw or an already
    /// encoded path give the same canonical URI.
    static func unnormalizedURI(_ path: String) -> String {
        if path.isEmpty { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { encode(decode(String($0)), keepSlash: false) }
            .joined(separator: "/")
    }

    /// RFC 3986 5.2.4 plus the AWS rule that empty segments go (botocore's remove_dot_segments).
    static func removeDotSegments(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var kept: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." {
                if !kept.isEmpty { kept.removeLast() }
            } else {
                kept.append(segment)
            }
        }
        let lead = path.hasPrefix("/") ? "/" : ""
        let trail = path.hasSuffix("/") && !kept.isEmpty ? "/" : ""
        let joined = lead + kept.joined(separator: "/") + trail
        return joined.isEmpty ? "/" : joined
    }

    /// Pairs decoded then re-encoded strictly, sorted by key then value; a bare key gets "=".
    static func query(_ query: String) -> String {
        if query.isEmpty { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { pair -> (String, String) in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = encode(decode(String(kv[0])), keepSlash: false)
            let value = kv.count > 1 ? encode(decode(String(kv[1])), keepSlash: false) : ""
            return (key, value)
        }
        return pairs.sorted { a, b in
            a.0 == b.0 ? Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
                       : Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
        }
        .map { "\($0.0)=\($0.1)" }
        .joined(separator: "&")
    }

    /// Percent-encodes every byte except RFC 3986 unreserved characters (and "/" when asked), upper-case hex.
    static func encode(_ text: String, keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes %XX escapes; a "%" not followed by two hex digits stays literal.
    static func decode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// An absolute URL split by hand: Foundation's URL rejects the raw paths the test suite uses
/// (spaces, unencoded UTF-8), and the signer must see the path exactly as given.
struct SigV4URL {
    var scheme = ""
    var authority = ""
    var path = ""
    var query = ""

    init(_ url: String) {
        var rest = Substring(url)
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let schemeEnd = rest.range(of: "://") {
            scheme = rest[..<schemeEnd.lowerBound].lowercased()
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            authority = String(rest[..<authorityEnd])
            if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
            rest = rest[authorityEnd...]
        }
        if let question = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        path = String(rest)
    }

    /// Host header value: the authority without a default port (what HTTP clients send).
    var hostHeader: String {
        let host = authority.lowercased()
        if scheme == "https", host.hasSuffix(":443") { return String(host.dropLast(4)) }
        if scheme == "http", host.hasSuffix(":80") { return String(host.dropLast(3)) }
        return host
    }
}
