/// What an `InvokeEndpointWithResponseStream` body carries besides failures.
public enum ResponseStreamEvent: Sendable, Equatable {
    /// The next bytes of the model's output (for TGI, SSE text; lines may be split across parts).
    case payloadPart([UInt8])
}

/// A failure SageMaker reported inside a response stream, after the HTTP 200.
public struct ResponseStreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// `ModelStreamError` or `InternalStreamFailure` for an `exception` message; nil for an
    /// `error` message.
    public var exceptionType: String?
    /// The most specific code sent: `ErrorCode` of the exception's body (such as
    /// `ModelInvocationTimeExceeded` or `StreamBroken`), else the exception type, else
    /// `:error-code`.
    public var code: String
    public var message: String

    public init(exceptionType: String? = nil, code: String, message: String) {
        self.exceptionType = exceptionType
        self.code = code
        self.message = message
    }

    public var description: String {
        var kind = code
        if let exceptionType, exceptionType != code { kind = "\(exceptionType) \(code)" }
        let text = message.isEmpty ? "(no message)" : message
        return "SageMaker response stream failed: \(kind): \(text)"
    }
}

/// Decodes `InvokeEndpointWithResponseStream` bodies: `PayloadPart` events become their payload
/// bytes; `exception` messages (`ModelStreamError`, `InternalStreamFailure`, JSON body
/// `{"Message", "ErrorCode"}`) and `error` messages (`:error-code`, `:error-message` headers)
/// become a thrown `ResponseStreamFailure`. Event types it does not know are skipped, as the
/// AWS SDKs do, so a new kind of event does not break old clients. Framing problems are
/// `EventStreamError`s.
public struct SageMakerResponseStream: Sendable {
    private var decoder: EventStreamDecoder
    /// The service's failure, thrown again by every later call.
    private var failure: ResponseStreamFailure?
    /// The headers block of the last frame found to be a PayloadPart event. A stream sends the
    /// same block on every token, and what a frame is depends on its header bytes alone, so a
    /// frame with these exact bytes is a PayloadPart without parsing them again.
    private var payloadPartHeaders: [UInt8] = []

    public init(maxMessageLength: Int = EventStreamDecoder.defaultMaxMessageLength) {
        decoder = EventStreamDecoder(maxMessageLength: maxMessageLength)
    }

    /// Bytes received of a message not yet complete.
    public var bytesPending: Int { decoder.bytesPending }

    /// Decodes a read and returns the events it completes. Throws `ResponseStreamFailure` or
    /// `EventStreamError`. When the read holds payload parts and then a failure, the parts are
    /// returned and the failure is thrown by the next `feed` or `finish`, so the tokens that
    /// arrived before it are still shown.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws -> [ResponseStreamEvent] {
        var events: [ResponseStreamEvent] = []
        let body: (UnsafeRawBufferPointer) -> Void = { events.append(.payloadPart(Array($0))) }
        do {
            if let result = bytes.withContiguousStorageIfAvailable({ buffer in
                Result { try feed(UnsafeRawBufferPointer(buffer), payloadPart: body) }
            }) {
                try result.get()
            } else {
                try Array(bytes).withUnsafeBytes { try feed($0, payloadPart: body) }
            }
        } catch {
            if events.isEmpty { throw error }
        }
        return events
    }

    /// Decodes a read, calling `payloadPart` with the payload of each `PayloadPart` it
    /// completes, in place (valid during the call). The fast path: no copy, no header strings.
    /// After a failure, every later call throws it again.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, payloadPart: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let failure { throw failure }
        do {
            try decodeFrames(bytes, payloadPart: payloadPart)
        } catch let error as ResponseStreamFailure {
            failure = error
            throw error
        }
    }

    /// Ends the stream: throws a failure not yet thrown, or when the stream stopped inside a message.
    public func finish() throws {
        if let failure { throw failure }
        try decoder.finish()
    }

    private mutating func decodeFrames(_ bytes: UnsafeRawBufferPointer, payloadPart: (UnsafeRawBufferPointer) throws -> Void) throws {
        // Held in a local while the decoder runs (the closure may not touch self meanwhile).
        var known = payloadPartHeaders
        defer { payloadPartHeaders = known }
        try decoder.feedFrames(bytes) { frame in
            if !known.isEmpty, known.withUnsafeBytes({ EventStreamFrame.same(frame.headers, $0) }) {
                try payloadPart(frame.payload)
                return
            }
            let (type, eventType) = try frame.stringHeaders(":message-type", ":event-type")
            guard let messageType = type else {
                throw EventStreamError.unexpectedMessage(reason: "a message without :message-type", offset: frame.offset)
            }
            if EventStreamFrame.same(messageType, "event") {
                guard let eventType else {
                    throw EventStreamError.unexpectedMessage(reason: "an event without :event-type", offset: frame.offset)
                }
                if EventStreamFrame.same(eventType, "PayloadPart") {
                    known = Array(frame.headers)
                    try payloadPart(frame.payload)
                }
            } else if EventStreamFrame.same(messageType, "exception") {
                throw try Self.exception(frame)
            } else if EventStreamFrame.same(messageType, "error") {
                throw try Self.error(frame)
            } else {
                let text = String(decoding: messageType, as: UTF8.self)
                throw EventStreamError.unexpectedMessage(
                    reason: "unknown :message-type \"\(text)\" (expected event, exception or error)", offset: frame.offset)
            }
        }
    }

    private static func exception(_ frame: EventStreamFrame) throws(EventStreamError) -> ResponseStreamFailure {
        let type = try frame.stringHeader(":exception-type").flatMap(EventStreamFrame.text) ?? "UnknownException"
        // The body is `{"Message": ..., "ErrorCode": ...}`; anything else is taken as the message.
        let body = JSONErrorBody.parse(frame.payload)
        let message = body?.message ?? (body == nil ? String(decoding: frame.payload, as: UTF8.self) : "")
        return ResponseStreamFailure(exceptionType: type, code: body?.code ?? type, message: message)
    }

    private static func error(_ frame: EventStreamFrame) throws(EventStreamError) -> ResponseStreamFailure {
        let code = try frame.stringHeader(":error-code").flatMap(EventStreamFrame.text) ?? "UnknownError"
        let message = try frame.stringHeader(":error-message").flatMap(EventStreamFrame.text) ?? ""
        return ResponseStreamFailure(code: code, message: message)
    }
}
