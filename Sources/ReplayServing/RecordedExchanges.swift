import CellbookJSON
import CellbookRecording
import Foundation
import SystemKit

/// A recording's HTTP exchanges, looked up the way the replay target is asked: by method,
/// path and body. Each match is served once in recorded order; asked more often than it was
/// recorded, the last recorded answer is served again (a repeated identical request).
public final class RecordedExchanges: Sendable {
    private let exchanges: [RecordedExchange]
    private let served = Locked([String: Int]())

    public init(_ exchanges: [RecordedExchange]) {
        self.exchanges = exchanges
    }

    public var isEmpty: Bool { exchanges.isEmpty }

    /// Exchanges whose path ends with `suffix` (`/tokenize`, `/v1/chat/completions`, ...).
    public func paths(endingWith suffix: String) -> [String] {
        Array(Set(exchanges.map(\.path).filter { $0.hasSuffix(suffix) })).sorted()
    }

    /// Bodies are compared as JSON when both parse (key order and spacing do not matter), else as text.
    static func sameBody(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let x = try? JSONValue.parse(bytes: Array(a.utf8)), let y = try? JSONValue.parse(bytes: Array(b.utf8)) else { return false }
        return canonical(x) == canonical(y)
    }

    static func canonical(_ v: JSONValue) -> String {
        switch v {
        case .object(let o):
            return "{" + o.keys.sorted().map { "\($0):" + canonical(o[$0]!) }.joined(separator: ",") + "}"
        case .array(let a): return "[" + a.map(canonical).joined(separator: ",") + "]"
        default: return v.serialized()
        }
    }

    /// The recorded exchange for this request, or an error naming the closest recorded one.
    public func answer(method: String, paths: [String], body: String) throws -> RecordedExchange {
        let matches = exchanges.indices.filter {
            exchanges[$0].method == method && paths.contains(exchanges[$0].path) && Self.sameBody(exchanges[$0].requestBody, body)
        }
        guard let first = matches.first else { throw unmatched(method: method, paths: paths, body: body) }
        let key = "\(method) \(exchanges[first].path) \(first)"
        let n = served.withLock { counts -> Int in
            defer { counts[key, default: 0] += 1 }
            return counts[key, default: 0]
        }
        return exchanges[matches[min(n, matches.count - 1)]]
    }

    func unmatched(method: String, paths: [String], body: String) -> ReplayMismatch {
        let asked = "\(method) \(paths.first ?? "?")"
        guard !exchanges.isEmpty else { return ReplayMismatch(request: asked, body: body, closest: nil, difference: "the recording holds no HTTP exchanges") }
        let scored = exchanges.map { x -> (RecordedExchange, Int) in
            var score = Self.distance(x.requestBody, body)
            if x.method != method { score += 1_000_000 }
            if !paths.contains(x.path) { score += 100_000 }
            return (x, score)
        }
        let closest = scored.min { $0.1 < $1.1 }!.0
        return ReplayMismatch(request: asked, body: body, closest: closest, difference: Self.firstDifference(closest.requestBody, body))
    }

    /// A cheap distance: characters outside the common prefix and suffix.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        var p = 0
        while p < min(x.count, y.count) && x[p] == y[p] { p += 1 }
        var s = 0
        while s < min(x.count, y.count) - p && x[x.count - 1 - s] == y[y.count - 1 - s] { s += 1 }
        return max(x.count, y.count) - p - s
    }

    static func firstDifference(_ recorded: String, _ asked: String) -> String {
        let x = Array(recorded), y = Array(asked)
        var p = 0
        while p < min(x.count, y.count) && x[p] == y[p] { p += 1 }
        func around(_ s: [Character]) -> String {
            let lo = max(0, p - 30), hi = min(s.count, p + 50)
            return (lo > 0 ? "…" : "") + String(s[lo..<hi]) + (hi < s.count ? "…" : "")
        }
        return "bodies differ at character \(p + 1): recorded \(around(x)) · asked \(around(y))"
    }
}

/// A request the recording does not hold: never answered with something else.
public struct ReplayMismatch: Error, CustomStringConvertible {
    public var request: String
    public var body: String
    public var closest: RecordedExchange?
    public var difference: String

    public var description: String {
        guard let closest else { return "the recording has no answer for \(request): \(difference)" }
        return "the recording has no answer for \(request) with this body; the closest recorded request is "
            + "\(closest.method) \(closest.path) of cell '\(closest.cell)' (at \(String(format: "%.3f", closest.t)) s): \(difference)"
    }
}
