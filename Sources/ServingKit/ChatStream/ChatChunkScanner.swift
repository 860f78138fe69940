import CellbookHTTP
import CellbookJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What one OpenAI `chat.completion.chunk` payload says, as far as load testing cares.
public struct ChatChunkFields: Sendable, Equatable {
    /// `choices[0].delta.content` (or legacy `choices[0].text`), when present and not null.
    public var content: String?
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// Set when the payload carries `error`: TGI's `"error": "text"` or OpenAI's
    /// `"error": {"message": ..., "code": ...}`.
    public var errorMessage: String?
    public var errorCode: Int?

    public init(content: String? = nil, finishReason: String? = nil, promptTokens: Int? = nil,
                completionTokens: Int? = nil, errorMessage: String? = nil, errorCode: Int? = nil) {
        self.content = content
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.errorMessage = errorMessage
        self.errorCode = errorCode
    }
}

/// Reads the few fields of a chat chunk the load generator needs, walking the JSON once and
/// skipping everything else without allocating.
///
/// A general decoder (JSONDecoder) costs tens of microseconds per chunk; at 100k chunks/s
/// that alone would use a core, which is the overhead this module exists to avoid.
public enum ChatChunkScanner {
    public static func scan(_ payload: UnsafeBufferPointer<UInt8>) throws(CompletionStreamError) -> ChatChunkFields {
        try scan(payload, decodingContent: true)
    }

    /// With `decodingContent` false, a non-empty content is reported as a placeholder (`"…"`)
    /// instead of being decoded: for callers that only time the chunks and would otherwise
    /// build a String per token for nothing.
    static func scan(_ payload: UnsafeBufferPointer<UInt8>,
                     decodingContent: Bool) throws(CompletionStreamError) -> ChatChunkFields {
        let raw = try scanRaw(payload)
        var fields = ChatChunkFields()
        do {
            if let content = raw.content {
                if decodingContent {
                    fields.content = try raw.decode(content)
                } else {
                    // An escape decodes to at least one character, so only "" is empty.
                    fields.content = content.range.isEmpty ? "" : "\u{2026}"
                }
            }
            if let reason = raw.finishReason { fields.finishReason = try raw.decode(reason) }
            fields.promptTokens = raw.promptTokens
            fields.completionTokens = raw.completionTokens
            if raw.errorOffset != nil { try raw.decodeError(into: &fields) }
        } catch {
            throw malformed(payload, error)
        }
        return fields
    }

    /// One walk over the chunk that records where its fields are instead of building Strings:
    /// the transcript path needs only whether a chunk has content, and decodes a finish reason
    /// or an error the once they appear.
    static func scanRaw(_ payload: UnsafeBufferPointer<UInt8>) throws(CompletionStreamError) -> RawChatChunk {
        var cursor = Cursor(bytes: payload)
        var raw = RawChatChunk(payload: payload)
        do {
            try cursor.skipWhitespace()
            try cursor.object { (cursor: inout Cursor, key: KeyBytes) throws(ScanError) in
                if key.equals("choices") {
                    var first = true
                    try cursor.array { (cursor: inout Cursor) throws(ScanError) in
                        if first {
                            first = false
                            try scanChoice(&cursor, into: &raw)
                        } else {
                            try cursor.skipValue()
                        }
                    }
                } else if key.equals("usage") {
                    guard try cursor.peekIsObject() else { try cursor.skipValue(); return }
                    try cursor.object { (cursor: inout Cursor, key: KeyBytes) throws(ScanError) in
                        if key.equals("prompt_tokens") {
                            raw.promptTokens = try cursor.intOrNil()
                        } else if key.equals("completion_tokens") {
                            raw.completionTokens = try cursor.intOrNil()
                        } else {
                            try cursor.skipValue()
                        }
                    }
                } else if key.equals("error") {
                    try cursor.skipWhitespace()
                    if try cursor.peek() == UInt8(ascii: "n") {
                        try cursor.literal("null")  // "error": null means no error
                    } else {
                        raw.errorOffset = cursor.index
                        try cursor.skipValue()
                    }
                } else {
                    try cursor.skipValue()
                }
            }
            // One object per event: anything after it would be a token silently lost.
            try cursor.expectEnd()
        } catch {
            throw malformed(payload, error)
        }
        return raw
    }

    static func malformed(_ payload: UnsafeBufferPointer<UInt8>, _ error: ScanError) -> CompletionStreamError {
        let excerpt = String(decoding: payload.prefix(200), as: UTF8.self)
        return .malformed(detail: "chunk is not the JSON object expected (\(error.reason) at byte \(error.offset)): \(excerpt)")
    }

    public static func scan(_ payload: String) throws(CompletionStreamError) -> ChatChunkFields {
        var text = payload
        // withUTF8 rethrows untyped errors, so the typed error travels in a Result.
        let result = text.withUTF8 { buffer in Result { () throws(CompletionStreamError) in try scan(buffer) } }
        return try result.get()
    }

    private static func scanChoice(_ cursor: inout Cursor, into raw: inout RawChatChunk) throws(ScanError) {
        guard try cursor.peekIsObject() else { try cursor.skipValue(); return }
        try cursor.object { (cursor: inout Cursor, key: KeyBytes) throws(ScanError) in
            if key.equals("delta") || key.equals("message") {
                guard try cursor.peekIsObject() else { try cursor.skipValue(); return }
                try cursor.object { (cursor: inout Cursor, key: KeyBytes) throws(ScanError) in
                    if key.equals("content") {
                        if let text = try cursor.rawStringOrNil() { raw.content = text }
                    } else {
                        try cursor.skipValue()
                    }
                }
            } else if key.equals("text") {
                if let text = try cursor.rawStringOrNil() { raw.content = text }
            } else if key.equals("finish_reason") {
                raw.finishReason = try cursor.rawStringOrNil()
            } else {
                try cursor.skipValue()
            }
        }
    }

    static func scanError(_ cursor: inout Cursor, into fields: inout ChatChunkFields) throws(ScanError) {
        if try cursor.peekIsObject() {
            var message: String?
            var type: String?
            try cursor.object { (cursor: inout Cursor, key: KeyBytes) throws(ScanError) in
                if key.equals("message") || key.equals("detail") {
                    message = try cursor.stringOrNil()
                } else if key.equals("code") {
                    fields.errorCode = try cursor.intOrNil()  // a string code is skipped
                } else if key.equals("type") {
                    type = try cursor.stringOrNil()
                } else {
                    try cursor.skipValue()
                }
            }
            fields.errorMessage = message ?? type ?? "error object without a message"
        } else if let text = try cursor.stringOrNil() {
            fields.errorMessage = text
        } else {
            fields.errorMessage = nil  // "error": null means no error
        }
    }
}

struct ScanError: Error {
    var offset: Int
    var reason: String
}

/// Where a chat chunk's fields lie in its payload (valid while the payload is).
struct RawChatChunk {
    let payload: UnsafeBufferPointer<UInt8>
    /// The content string token (`choices[0].delta.content` or `.text`), nil when absent or null.
    var content: KeyBytes?
    var finishReason: KeyBytes?
    var promptTokens: Int?
    var completionTokens: Int?
    /// Where the value of a non-null `error` member starts.
    var errorOffset: Int?

    init(payload: UnsafeBufferPointer<UInt8>) { self.payload = payload }

    func decode(_ string: KeyBytes) throws(ScanError) -> String {
        if !string.hasEscapes {
            return String(decoding: UnsafeBufferPointer(rebasing: payload[string.range]), as: UTF8.self)
        }
        // Rare path: decode escapes with the general reader.
        var reader = JSONReader(bytes: Array(payload[(string.range.lowerBound - 1)...string.range.upperBound]))
        do { return try reader.readString() } catch { throw ScanError(offset: string.range.lowerBound, reason: error.reason) }
    }

    func decodeError(into fields: inout ChatChunkFields) throws(ScanError) {
        guard let offset = errorOffset else { return }
        var cursor = Cursor(bytes: payload)
        cursor.index = offset
        try ChatChunkScanner.scanError(&cursor, into: &fields)
    }
}

/// A bytes view of a JSON key, compared without building a String.
struct KeyBytes {
    let base: UnsafeBufferPointer<UInt8>
    let range: Range<Int>
    let hasEscapes: Bool

    @inline(__always)
    func equals(_ literal: StaticString) -> Bool {
        guard !hasEscapes, literal.utf8CodeUnitCount == range.count, let start = base.baseAddress else { return false }
        return memcmp(start + range.lowerBound, literal.utf8Start, range.count) == 0
    }
}

/// A forward-only JSON walker over a byte buffer.
struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ reason: String) -> ScanError { ScanError(offset: index, reason: reason) }

    @inline(__always)
    mutating func skipWhitespace() throws(ScanError) {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 } else { return }
        }
    }

    @inline(__always)
    mutating func peek() throws(ScanError) -> UInt8 {
        try skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end") }
        return bytes[index]
    }

    @inline(__always)
    mutating func peekIsObject() throws(ScanError) -> Bool { try peek() == UInt8(ascii: "{") }

    @inline(__always)
    mutating func expect(_ byte: UInt8) throws(ScanError) {
        guard try peek() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// Calls `body` for each member with the cursor on the value; `body` must consume the value.
    @inline(__always)
    mutating func object(_ body: (inout Cursor, KeyBytes) throws(ScanError) -> Void) throws(ScanError) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            guard try peek() == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try rawString()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            let next = try peek()
            index += 1
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "}") { return }
            index -= 1
            throw fail("expected ',' or '}'")
        }
    }

    @inline(__always)
    mutating func array(_ body: (inout Cursor) throws(ScanError) -> Void) throws(ScanError) {
        let opening = try peek()
        if opening == UInt8(ascii: "n") { try literal("null"); return }
        try expect(UInt8(ascii: "["))
        if try peek() == UInt8(ascii: "]") { index += 1; return }
        while true {
            try body(&self)
            let next = try peek()
            index += 1
            if next == UInt8(ascii: ",") { continue }
            if next == UInt8(ascii: "]") { return }
            index -= 1
            throw fail("expected ',' or ']'")
        }
    }

    /// The extent of a string token (cursor on its opening quote), leaving escapes undecoded.
    /// The extent of a string token (cursor on its opening quote), leaving escapes undecoded.
    mutating func rawString() throws(ScanError) -> KeyBytes {
        index += 1
        let start = index
        var escapes = false
        // Eight bytes at a time to the first quote or backslash (most strings have no escapes).
        if let base = bytes.baseAddress {
            while index + 8 <= bytes.count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let hits = Self.zeroBytes(word ^ 0x2222_2222_2222_2222) | Self.zeroBytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
                if hits == 0 {
                    index += 8
                    continue
                }
                index += hits.trailingZeroBitCount / 8
                break
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let key = KeyBytes(base: bytes, range: start..<index, hasEscapes: escapes)
                index += 1
                return key
            }
            if byte == UInt8(ascii: "\\") {
                escapes = true
                // Validate the escape here, so the content-free mode rejects what full decoding rejects.
                guard index + 1 < bytes.count else { throw fail("unterminated string") }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 6 <= bytes.count,
                        bytes[(index + 2)..<(index + 6)].allSatisfy({ Self.isHexDigit($0) })
                    else { throw fail("bad \\u escape") }
                    index += 6
                default:
                    throw fail("unknown escape")
                }
                continue
            }
            index += 1
        }
        throw fail("unterminated string")
    }

    /// The high bit of each byte of `word` that is zero, exact up to the first such byte
    /// (later ones may be flagged wrongly, which only the first matters to).
    @inline(__always)
    static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
    }

    static func isHexDigit(_ b: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(b)
    }

    /// Only whitespace may follow the value.
    mutating func expectEnd() throws(ScanError) {
        while index < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[index]) {
            index += 1
        }
        if index < bytes.count { throw fail("unexpected text after the chunk") }
    }

    /// A string token's extent, nil for null; any other value is skipped and reads as nil.
    mutating func rawStringOrNil() throws(ScanError) -> KeyBytes? {
        let first = try peek()
        if first == UInt8(ascii: "\"") { return try rawString() }
        if first == UInt8(ascii: "n") { try literal("null"); return nil }
        try skipValue()
        return nil
    }

    mutating func stringOrNil() throws(ScanError) -> String? {
        let first = try peek()
        if first == UInt8(ascii: "n") { try literal("null"); return nil }
        guard first == UInt8(ascii: "\"") else { try skipValue(); return nil }
        let raw = try rawString()
        if !raw.hasEscapes {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[raw.range]), as: UTF8.self)
        }
        // Rare path: decode escapes with the general reader.
        var reader = JSONReader(bytes: Array(bytes[(raw.range.lowerBound - 1)...raw.range.upperBound]))
        do { return try reader.readString() } catch { throw fail(error.reason) }
    }

    mutating func intOrNil() throws(ScanError) -> Int? {
        let first = try peek()
        if first == UInt8(ascii: "n") { try literal("null"); return nil }
        guard first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else {
            try skipValue()
            return nil
        }
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        var value = 0
        var integral = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                if integral { value = value &* 10 &+ Int(byte - UInt8(ascii: "0")) }
                index += 1
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                integral = false
                index += 1
            } else {
                break
            }
        }
        if !integral {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let number = Double(text), number.rounded() == number, abs(number) < 9.0e15 else { return nil }
            return Int(number)
        }
        return negative ? -value : value
    }

    @inline(__always)
    mutating func literal(_ word: StaticString) throws(ScanError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw fail("unknown literal") }
        index += count
    }

    mutating func skipValue() throws(ScanError) {
        let first = try peek()
        switch first {
        case UInt8(ascii: "\""):
            _ = try rawString()
        case UInt8(ascii: "{"):
            try object { cursor, _ throws(ScanError) in try cursor.skipValue() }
        case UInt8(ascii: "["):
            try array { cursor throws(ScanError) in try cursor.skipValue() }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                    || byte == UInt8(ascii: "E") {
                    index += 1
                } else {
                    break
                }
            }
            if index == start { throw fail("unexpected character") }
        }
    }
}
