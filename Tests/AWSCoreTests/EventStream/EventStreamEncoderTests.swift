import AWSCore
import Testing

@Suite struct EventStreamEncoderTests {
    @Test(arguments: EventStreamVectors.positiveNames)
    func reproducesEachPositiveVectorByteForByte(_ name: String) throws {
        let message = try EventStreamVectors.decoded(name).message()
        #expect(EventStreamEncoder.encode(message) == (try EventStreamVectors.encoded("positive", name)))
    }

    @Test func roundTripsEveryHeaderTypeAndItsLimits() throws {
        let message = EventStreamMessage(
            headers: [
                .init(name: "t", value: .bool(true)),
                .init(name: "f", value: .bool(false)),
                .init(name: "byte-min", value: .byte(.min)),
                .init(name: "int16-min", value: .int16(.min)),
                .init(name: "int32-max", value: .int32(.max)),
                .init(name: "int64-min", value: .int64(.min)),
                .init(name: "empty-bytes", value: .bytes([])),
                .init(name: "long-bytes", value: .bytes([UInt8](repeating: 0xAB, count: 65535))),
                .init(name: "unicode ✓", value: .string("héllo, 世界 🎉")),
                .init(name: "ts", value: .timestamp(-1)),
                .init(name: "uuid", value: .uuid(Array(100..<116))),
                .init(name: String(repeating: "n", count: 255), value: .string("")),
                .init("dup", "first"),
                .init("dup", "second"),
            ],
            payload: Array(0...255))
        var decoder = EventStreamDecoder()
        let decoded = try decoder.feed(EventStreamEncoder.encode(message))
        #expect(decoded == [message])
        #expect(decoded.first?[header: "dup"] == .string("first"), "the first of repeated headers wins")
    }

    @Test func appendsToExistingBytes() throws {
        var out: [UInt8] = [9, 9]
        EventStreamEncoder.encode(EventStreamMessage(), into: &out)
        EventStreamEncoder.encode(EventStreamMessage(payload: [1]), into: &out)
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(out.dropFirst(2)) == [EventStreamMessage(), EventStreamMessage(payload: [1])])
    }

    @Test func headerHelpersReadTheWellKnownHeaders() {
        let message = EventStreamMessage(headers: [
            .init(":message-type", "error"), .init(":event-type", "PayloadPart"), .init(":exception-type", "ModelStreamError"),
            .init(":error-code", "Boom"), .init(":error-message", "it broke"), .init(":content-type", "application/json"),
        ])
        #expect(message.messageType == "error")
        #expect(message.eventType == "PayloadPart")
        #expect(message.exceptionType == "ModelStreamError")
        #expect(message.errorCode == "Boom")
        #expect(message.errorMessage == "it broke")
        #expect(message.contentType == "application/json")
        #expect(EventStreamMessage(headers: [.init(name: ":message-type", value: .int32(1))]).messageType == nil)
    }
}
