/// One server-sent event.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field, or `"message"` when the event had none.
    public var event: String
    /// The `data:` lines joined with "\n".
    public var data: String
    /// The last event ID seen on the stream (it carries over between events, as W3C says).
    public var id: String?
    /// When the chunk that completed this event arrived (`MonotonicClock` nanoseconds).
    public var receivedAt: UInt64

    /// Creates an event; the defaults are what a bare `data:` line gives.
    public init(event: String = "message", data: String, id: String? = nil, receivedAt: UInt64 = 0) {
        self.event = event
        self.data = data
        self.id = id
        self.receivedAt = receivedAt
    }
}

/// Incremental parser for `text/event-stream` (W3C server-sent events).
///
/// Feed it body chunks as they come; it returns the events each chunk
/// completes. Chunks may split anywhere: inside a field, inside a UTF-8
/// sequence, between "\r" and "\n". Lines end with "\n", "\r\n" or "\r";
/// `data:` may or may not be followed by a space; lines starting with ":"
/// are comments; a blank line dispatches the event.
public struct SSEParser: Sendable {
    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")
    private static let colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " ")

    /// Bytes of a line not yet ended, carried to the next chunk.
    private var partialLine: [UInt8] = []
    /// The data lines of the event being built, each followed by "\n".
    private var data: [UInt8] = []
    private var eventType: String?
    private var lastEventID: String?
    /// The previous chunk ended with "\r": a "\n" opening the next one belongs to it.
    private var skipLeadingLF = false
    private var atStreamStart = true
    private var lastReceivedAt: UInt64 = 0

    /// The reconnection time the server asked for with `retry:`, in milliseconds.
    public private(set) var retryMilliseconds: Int?

    /// Creates a parser for a new stream.
    public init() {}

    /// Parses a chunk and returns the events it completes, each stamped with `receivedAt`.
    public mutating func feed(
        _ bytes: some Collection<UInt8>, receivedAt: UInt64 = MonotonicClock.nanoseconds()
    ) -> [SSEEvent] {
        lastReceivedAt = receivedAt
        var events: [SSEEvent] = []
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            parse(buffer, receivedAt: receivedAt, into: &events)
        }
        if handled == nil {
            Array(bytes).withUnsafeBufferPointer { parse($0, receivedAt: receivedAt, into: &events) }
        }
        return events
    }

    /// Ends the stream: a last line without its line ending, and an event
    /// without its closing blank line, are dispatched rather than dropped.
    /// (W3C says to drop them; servers that close right after their last
    /// `data:` line would otherwise lose `[DONE]` or the usage chunk.)
    /// The parser is then ready for a new stream.
    public mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !partialLine.isEmpty {
            let line = partialLine
            partialLine.removeAll()
            line.withUnsafeBufferPointer { processLine($0[...], receivedAt: lastReceivedAt, into: &events) }
        }
        dispatch(receivedAt: lastReceivedAt, into: &events)
        skipLeadingLF = false
        atStreamStart = true
        lastEventID = nil
        return events
    }

    private mutating func parse(
        _ buffer: UnsafeBufferPointer<UInt8>, receivedAt: UInt64, into events: inout [SSEEvent]
    ) {
        let count = buffer.count
        guard count > 0 else { return }
        var index = 0
        if skipLeadingLF {
            skipLeadingLF = false
            if buffer[0] == Self.lf { index = 1 }
        }
        var lineStart = index
        while index < count {
            let byte = buffer[index]
            if byte != Self.lf && byte != Self.cr {
                index += 1
                continue
            }
            if partialLine.isEmpty {
                processLine(buffer[lineStart..<index], receivedAt: receivedAt, into: &events)
            } else {
                var line: [UInt8] = []
                swap(&line, &partialLine)
                line.append(contentsOf: buffer[lineStart..<index])
                line.withUnsafeBufferPointer { processLine($0[...], receivedAt: receivedAt, into: &events) }
                line.removeAll(keepingCapacity: true)
                swap(&line, &partialLine)
            }
            if byte == Self.cr {
                if index + 1 < count {
                    if buffer[index + 1] == Self.lf { index += 1 }
                } else {
                    skipLeadingLF = true
                }
            }
            index += 1
            lineStart = index
        }
        if lineStart < count {
            partialLine.append(contentsOf: buffer[lineStart..<count])
        }
    }

    private mutating func processLine(
        _ rawLine: Slice<UnsafeBufferPointer<UInt8>>, receivedAt: UInt64, into events: inout [SSEEvent]
    ) {
        var line = rawLine
        if atStreamStart {
            atStreamStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }  // byte order mark
        }
        if line.isEmpty {
            dispatch(receivedAt: receivedAt, into: &events)
            return
        }
        if line.first == Self.colon { return }  // comment, often a keep-alive

        let field: Slice<UnsafeBufferPointer<UInt8>>
        var value: Slice<UnsafeBufferPointer<UInt8>>
        if let colon = line.firstIndex(of: Self.colon) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == Self.space { value = value.dropFirst() }
        } else {
            field = line
            value = line[line.endIndex...]
        }

        if field.elementsEqual("data".utf8) {
            data.append(contentsOf: value)
            data.append(Self.lf)
        } else if field.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if field.elementsEqual("id".utf8) {
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        } else if field.elementsEqual("retry".utf8) {
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                retryMilliseconds = Int(String(decoding: value, as: UTF8.self))
            }
        }
        // Other field names are ignored, as the standard says.
    }

    private mutating func dispatch(receivedAt: UInt64, into events: inout [SSEEvent]) {
        defer { eventType = nil }
        // An event with no data line is not dispatched.
        guard !data.isEmpty else { return }
        data.removeLast()  // the "\n" after the last data line
        let type = (eventType?.isEmpty ?? true) ? "message" : eventType!
        events.append(
            SSEEvent(event: type, data: String(decoding: data, as: UTF8.self), id: lastEventID, receivedAt: receivedAt))
        data.removeAll(keepingCapacity: true)
    }
}
