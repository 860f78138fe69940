/// Decodes an `application/vnd.amazon.eventstream` body as its bytes arrive.
///
/// Feed it reads of any size, split anywhere; it hands out each message as soon as its last
/// byte is in. Frames that lie whole inside a read are decoded in place; only a frame split
/// across reads is copied, into one reused buffer. Both checksums are verified before a message
/// is handed out. Malformed input is an `EventStreamError`, never a crash, and the error sticks:
/// a stream that went wrong once cannot be trusted again.
///
/// Frame: `total_length u32, headers_length u32, prelude_crc u32, headers, payload,
/// message_crc u32`, big-endian, each CRC-32 over all the bytes before it.
public struct EventStreamDecoder: Sendable {
    /// The largest message AWS sends: 24 MiB.
    public static let defaultMaxMessageLength = 24 * 1024 * 1024
    static let preludeLength = 12
    static let framingLength = 16

    /// Messages declaring more bytes than this are rejected before any is buffered.
    public let maxMessageLength: Int

    /// The bytes of a message not yet complete.
    private var pending: [UInt8] = []
    /// The total length of the pending message once its prelude is checked; 0 before.
    private var pendingTotal = 0
    /// The stream offset of the message being decoded (the first byte of `pending`).
    private var offset = 0
    private var failure: EventStreamError?
    /// What followed a message whose callback threw: not looked at yet.
    private var carriedOver: [UInt8] = []

    public init(maxMessageLength: Int = EventStreamDecoder.defaultMaxMessageLength) {
        self.maxMessageLength = max(maxMessageLength, Self.framingLength)
    }

    /// Bytes received and not yet handed out as messages.
    public var bytesPending: Int { pending.count + carriedOver.count }

    /// Decodes a read and returns the messages it completes. When the read holds good messages
    /// and then a bad one, the good ones are returned and the error is thrown by the next
    /// `feed` or `finish`: what arrived intact is never lost.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(EventStreamError) -> [EventStreamMessage] {
        var messages: [EventStreamMessage] = []
        do {
            try feed(bytes) { messages.append($0) }
        } catch let error as EventStreamError {
            if messages.isEmpty { throw error }
        } catch {
            preconditionFailure("unreachable: the collecting callback does not throw")
        }
        return messages
    }

    /// Decodes a read and returns the messages it completes (see the raw-buffer form).
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(EventStreamError) -> [EventStreamMessage] {
        typealias Decoded = Result<[EventStreamMessage], EventStreamError>
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Decoded { () throws(EventStreamError) in try feed(UnsafeRawBufferPointer(buffer)) }
        } ?? Array(bytes).withUnsafeBytes { buffer in
            Decoded { () throws(EventStreamError) in try feed(buffer) }
        }
        return try result.get()
    }

    /// Decodes a read, calling `body` with each message it completes, in order. Throws an
    /// `EventStreamError` for malformed input, or what `body` throws; when `body` throws, the
    /// bytes after its message are kept and decoded by the next `feed` (an empty read will do).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ body: (EventStreamMessage) throws -> Void) throws {
        try feedFrames(bytes) { frame throws in try body(frame.message()) }
    }

    /// Ends the stream: throws `truncated` when it stopped inside a message, or the error that
    /// stopped decoding earlier.
    public func finish() throws(EventStreamError) {
        if let failure { throw failure }
        if bytesPending > 0 { throw .truncated(bytesPending: bytesPending, offset: offset) }
    }

    /// The core loop: calls `body` with each complete frame, checksums verified, headers not yet
    /// parsed. The frame's memory is valid only during the call.
    mutating func feedFrames(_ input: UnsafeRawBufferPointer, _ body: (EventStreamFrame) throws -> Void) throws {
        if let failure { throw failure }
        if !carriedOver.isEmpty {
            let bytes = carriedOver + UnsafeRawBufferPointer(input)
            carriedOver = []
            try bytes.withUnsafeBytes { try feedFrames($0, body) }
            return
        }
        let count = input.count
        guard count > 0 else { return }
        var index = 0
        do {
            // First complete the message split across reads, if any.
            if !pending.isEmpty {
                if pendingTotal == 0 {
                    let take = min(Self.preludeLength - pending.count, count)
                    pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[0..<take]))
                    index = take
                    if pending.count < Self.preludeLength { return }
                    pendingTotal = try pending.withUnsafeBytes { buffer throws(EventStreamError) in
                        try checkPrelude(buffer)
                    }
                }
                let take = min(pendingTotal - pending.count, count - index)
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[index..<(index + take)]))
                index += take
                if pending.count < pendingTotal { return }
                try pending.withUnsafeBytes { buffer in
                    let frame = try EventStreamFrame(verifying: buffer, offset: offset)
                    offset += pendingTotal
                    pendingTotal = 0
                    try body(frame)
                }
                pending.removeAll(keepingCapacity: true)
            }
            // Then every frame that lies whole in this read, in place.
            while count - index >= Self.preludeLength {
                let rest = UnsafeRawBufferPointer(rebasing: input[index...])
                let total = try checkPrelude(rest)
                if rest.count < total {
                    pendingTotal = total
                    break
                }
                let frame = try EventStreamFrame(verifying: UnsafeRawBufferPointer(rebasing: rest[0..<total]), offset: offset)
                index += total
                offset += total
                try body(frame)
            }
        } catch let error as EventStreamError {
            failure = error
            throw error
        } catch {
            // `body` threw: keep what follows its message for the next feed.
            pending.removeAll(keepingCapacity: true)
            pendingTotal = 0
            carriedOver = Array(UnsafeRawBufferPointer(rebasing: input[index...]))
            throw error
        }
        if index < count {
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[index...]))
        }
    }

    /// Checks the prelude at the start of `bytes` (at least 12 of them) and returns the message's
    /// total length. The checksum comes first: a corrupt length is reported as what it is.
    private func checkPrelude(_ bytes: UnsafeRawBufferPointer) throws(EventStreamError) -> Int {
        let total = Int(bytes.bigEndianUInt32(at: 0))
        let headersLength = Int(bytes.bigEndianUInt32(at: 4))
        let expected = bytes.bigEndianUInt32(at: 8)
        let actual = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<8]))
        guard actual == expected else {
            throw .preludeCRCMismatch(expected: expected, actual: actual, offset: offset)
        }
        guard total >= Self.framingLength, headersLength <= total - Self.framingLength else {
            throw .invalidLength(totalLength: total, headersLength: headersLength, offset: offset)
        }
        guard total <= maxMessageLength else {
            throw .messageTooLong(length: total, limit: maxMessageLength, offset: offset)
        }
        return total
    }
}

/// A complete frame whose lengths and checksums were verified, still in the reader's memory.
/// `EventStreamDecoder` turns it into an `EventStreamMessage`; `SageMakerResponseStream` reads
/// it directly, so a token's frame costs no header strings.
struct EventStreamFrame {
    let headers: UnsafeRawBufferPointer
    let payload: UnsafeRawBufferPointer
    /// The stream offset of the frame, for error messages.
    let offset: Int

    /// `bytes` is exactly one frame whose prelude was checked.
    init(verifying bytes: UnsafeRawBufferPointer, offset: Int) throws(EventStreamError) {
        let total = bytes.count
        let headersLength = Int(bytes.bigEndianUInt32(at: 4))
        let expected = bytes.bigEndianUInt32(at: total - 4)
        // The checked prelude CRC is the checksum of bytes 0..<8: continue from it, not from 0.
        let actual = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[8..<(total - 4)]), seed: bytes.bigEndianUInt32(at: 8))
        guard actual == expected else {
            throw .messageCRCMismatch(expected: expected, actual: actual, offset: offset)
        }
        let headersEnd = EventStreamDecoder.preludeLength + headersLength
        headers = UnsafeRawBufferPointer(rebasing: bytes[EventStreamDecoder.preludeLength..<headersEnd])
        payload = UnsafeRawBufferPointer(rebasing: bytes[headersEnd..<(total - 4)])
        self.offset = offset
    }

    /// Calls `body` with each header's name and value bytes, in wire order, checking the
    /// structure. `valueBytes` is the whole encoded value after the type byte (without the
    /// length prefix for bytes and string).
    func forEachHeader(
        _ body: (_ name: UnsafeRawBufferPointer, _ type: UInt8, _ valueBytes: UnsafeRawBufferPointer) throws(EventStreamError) -> Void
    ) throws(EventStreamError) {
        var i = 0
        let end = headers.count
        while i < end {
            let nameLength = Int(headers[i])
            i += 1
            guard nameLength > 0 else {
                throw .malformedHeader(reason: "a header with an empty name (header byte \(i - 1))", offset: offset)
            }
            guard end - i > nameLength else {
                throw .malformedHeader(reason: "a header name runs past the end of the headers (header byte \(i - 1))", offset: offset)
            }
            let name = UnsafeRawBufferPointer(rebasing: headers[i..<(i + nameLength)])
            i += nameLength
            let type = headers[i]
            i += 1
            var length: Int
            switch type {
            case 0, 1: length = 0
            case 2: length = 1
            case 3: length = 2
            case 4: length = 4
            case 5, 8: length = 8
            case 9: length = 16
            case 6, 7:
                guard end - i >= 2 else {
                    throw .malformedHeader(reason: "the length of header \(quoted(name)) runs past the end of the headers", offset: offset)
                }
                length = Int(headers[i]) << 8 | Int(headers[i + 1])
                i += 2
            default:
                throw .malformedHeader(reason: "header \(quoted(name)) has unknown type \(type) (known: 0-9)", offset: offset)
            }
            guard end - i >= length else {
                throw .malformedHeader(
                    reason: "the value of header \(quoted(name)) needs \(length) bytes, \(end - i) are left", offset: offset)
            }
            try body(name, type, UnsafeRawBufferPointer(rebasing: headers[i..<(i + length)]))
            i += length
        }
    }

    /// Parses the headers and copies the payload.
    func message() throws(EventStreamError) -> EventStreamMessage {
        var parsed: [EventStreamHeader] = []
        try forEachHeader { name, type, value throws(EventStreamError) in
            guard let nameText = Self.text(name) else {
                throw .malformedHeader(reason: "a header name is not valid UTF-8", offset: offset)
            }
            let headerValue: EventStreamHeaderValue
            switch type {
            case 0: headerValue = .bool(true)
            case 1: headerValue = .bool(false)
            case 2: headerValue = .byte(Int8(bitPattern: value[0]))
            case 3: headerValue = .int16(Int16(bitPattern: UInt16(value[0]) << 8 | UInt16(value[1])))
            case 4: headerValue = .int32(Int32(bitPattern: value.bigEndianUInt32(at: 0)))
            case 5: headerValue = .int64(Int64(bitPattern: value.bigEndianUInt64(at: 0)))
            case 6: headerValue = .bytes(Array(value))
            case 7:
                guard let text = Self.text(value) else {
                    throw .malformedHeader(reason: "the string header \(nameText) is not valid UTF-8", offset: offset)
                }
                headerValue = .string(text)
            case 8: headerValue = .timestamp(Int64(bitPattern: value.bigEndianUInt64(at: 0)))
            default: headerValue = .uuid(Array(value))
            }
            parsed.append(EventStreamHeader(name: nameText, value: headerValue))
        }
        return EventStreamMessage(headers: parsed, payload: Array(payload))
    }

    /// The value bytes of the first string header called `name` (given as ASCII bytes).
    func stringHeader(_ name: StaticString) throws(EventStreamError) -> UnsafeRawBufferPointer? {
        try stringHeaders(name, name).0
    }

    /// The value bytes of the first string headers called `first` and `second`, in one pass
    /// over the headers: what the per-token path of a response stream needs.
    func stringHeaders(
        _ first: StaticString, _ second: StaticString
    ) throws(EventStreamError) -> (UnsafeRawBufferPointer?, UnsafeRawBufferPointer?) {
        var found: (UnsafeRawBufferPointer?, UnsafeRawBufferPointer?) = (nil, nil)
        let wanted = (UnsafeRawBufferPointer(start: first.utf8Start, count: first.utf8CodeUnitCount),
                      UnsafeRawBufferPointer(start: second.utf8Start, count: second.utf8CodeUnitCount))
        try forEachHeader { name, type, value throws(EventStreamError) in
            guard type == 7 else { return }
            if found.0 == nil, Self.same(name, wanted.0) { found.0 = value }
            if found.1 == nil, Self.same(name, wanted.1) { found.1 = value }
        }
        return found
    }

    /// Whether `a` and `b` hold the same bytes; eight at a time (the generic `elementsEqual`
    /// went byte by byte through an iterator and cost more per token than both CRCs).
    static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let count = a.count
        guard count == b.count else { return false }
        guard count > 0, let p = a.baseAddress, let q = b.baseAddress else { return true }
        var i = 0
        while count - i >= 8 {
            if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) != q.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i &+= 8
        }
        while i < count {
            if p.load(fromByteOffset: i, as: UInt8.self) != q.load(fromByteOffset: i, as: UInt8.self) { return false }
            i &+= 1
        }
        return true
    }

    /// Whether `bytes` spell `text`.
    static func same(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        same(bytes, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The text of `bytes` when they are valid UTF-8, nil otherwise (never repaired: a header that
    /// is not text is a corrupt stream, not a string with replacement characters).
    static func text(_ bytes: UnsafeRawBufferPointer) -> String? {
        var ascii = true
        for byte in bytes where byte >= 0x80 {
            ascii = false
            break
        }
        if !ascii {
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes.makeIterator()
            loop: while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid: continue
                case .emptyInput: break loop
                case .error: return nil
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func quoted(_ name: UnsafeRawBufferPointer) -> String {
        "\"" + String(decoding: name, as: UTF8.self) + "\""
    }
}

fileprivate extension UnsafeRawBufferPointer {
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func bigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
