/// The value of one event-stream header, one case per wire type (0 true and 1 false are `bool`).
public enum EventStreamHeaderValue: Sendable, Equatable, Hashable {
    case bool(Bool)
    case byte(Int8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case bytes([UInt8])
    case string(String)
    /// Milliseconds since the Unix epoch.
    case timestamp(Int64)
    /// 16 bytes.
    case uuid([UInt8])

    /// The wire type byte of this value.
    public var typeCode: UInt8 {
        switch self {
        case .bool(let value): value ? 0 : 1
        case .byte: 2
        case .int16: 3
        case .int32: 4
        case .int64: 5
        case .bytes: 6
        case .string: 7
        case .timestamp: 8
        case .uuid: 9
        }
    }

    /// The text of a `string` header, nil for the other types.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}

/// One header of an event-stream message. Order is kept as on the wire; names may repeat.
public struct EventStreamHeader: Sendable, Equatable, Hashable {
    public var name: String
    public var value: EventStreamHeaderValue

    public init(name: String, value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }

    /// A `string` header, the common case.
    public init(_ name: String, _ text: String) {
        self.init(name: name, value: .string(text))
    }
}

/// One frame of an `application/vnd.amazon.eventstream` body: headers and a payload.
public struct EventStreamMessage: Sendable, Equatable, Hashable {
    public var headers: [EventStreamHeader]
    public var payload: [UInt8]

    public init(headers: [EventStreamHeader] = [], payload: [UInt8] = []) {
        self.headers = headers
        self.payload = payload
    }

    /// The value of the first header called `name`.
    public subscript(header name: String) -> EventStreamHeaderValue? {
        for header in headers where header.name == name { return header.value }
        return nil
    }

    /// `:message-type`: `event`, `error` or `exception`.
    public var messageType: String? { self[header: ":message-type"]?.stringValue }
    /// `:event-type` of an `event` message, e.g. `PayloadPart`.
    public var eventType: String? { self[header: ":event-type"]?.stringValue }
    /// `:exception-type` of an `exception` message, e.g. `ModelStreamError`.
    public var exceptionType: String? { self[header: ":exception-type"]?.stringValue }
    /// `:error-code` of an `error` message.
    public var errorCode: String? { self[header: ":error-code"]?.stringValue }
    /// `:error-message` of an `error` message.
    public var errorMessage: String? { self[header: ":error-message"]?.stringValue }
    /// `:content-type` of the payload.
    public var contentType: String? { self[header: ":content-type"]?.stringValue }
}
