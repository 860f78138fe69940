import AWSCore
import Testing

@Suite struct SageMakerResponseStreamTests {
    static func payloadPart(_ text: String) -> [UInt8] {
        EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":event-type", "PayloadPart"), .init(":content-type", "application/octet-stream"),
                      .init(":message-type", "event")],
            payload: Array(text.utf8)))
    }

    static func exception(_ type: String, _ json: String) -> [UInt8] {
        EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":exception-type", type), .init(":content-type", "application/json"),
                      .init(":message-type", "exception")],
            payload: Array(json.utf8)))
    }

    static func error(code: String, message: String) -> [UInt8] {
        EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":error-code", code), .init(":error-message", message), .init(":message-type", "error")]))
    }

    private func texts(_ events: [ResponseStreamEvent]) -> [String] {
        events.map { event in
            switch event {
            case .payloadPart(let bytes): String(decoding: bytes, as: UTF8.self)
            }
        }
    }

    @Test func payloadPartsBecomeTheirBytesAtEverySplit() throws {
        let parts = ["data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n", "\ndata: {\"choi", "ces\":[]}\n\n", "data: [DONE]\n\n"]
        let bytes = parts.flatMap(Self.payloadPart)
        for split in 0...bytes.count {
            var stream = SageMakerResponseStream()
            var events = try stream.feed(bytes[..<split])
            events += try stream.feed(bytes[split...])
            try stream.finish()
            #expect(texts(events) == parts, "split at \(split)")
        }
    }

    @Test func callbackFormHandsOutPayloadsInPlace() throws {
        let bytes = Self.payloadPart("one") + Self.payloadPart("two")
        var stream = SageMakerResponseStream()
        var seen: [String] = []
        try bytes.withUnsafeBytes { raw in
            try stream.feed(raw) { seen.append(String(decoding: $0, as: UTF8.self)) }
        }
        #expect(seen == ["one", "two"])
    }

    @Test func unknownEventTypesAreSkipped() throws {
        let other = EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":event-type", "SomethingNew"), .init(":message-type", "event")], payload: [1, 2]))
        var stream = SageMakerResponseStream()
        #expect(texts(try stream.feed(Self.payloadPart("a") + other + Self.payloadPart("b"))) == ["a", "b"])
    }

    @Test func modelStreamErrorCarriesItsErrorCode() throws {
        var stream = SageMakerResponseStream()
        let bytes = Self.exception("ModelStreamError", #"{"Message":"Model invocation took longer than 30 seconds","ErrorCode":"ModelInvocationTimeExceeded"}"#)
        let failure = #expect(throws: ResponseStreamFailure.self) { try stream.feed(bytes) }
        #expect(failure == ResponseStreamFailure(
            exceptionType: "ModelStreamError", code: "ModelInvocationTimeExceeded",
            message: "Model invocation took longer than 30 seconds"))
        #expect(failure?.description
            == "SageMaker response stream failed: ModelStreamError ModelInvocationTimeExceeded: Model invocation took longer than 30 seconds")
    }

    @Test func internalStreamFailureWithoutErrorCode() throws {
        var stream = SageMakerResponseStream()
        let failure = #expect(throws: ResponseStreamFailure.self) {
            try stream.feed(Self.exception("InternalStreamFailure", #"{"message":"internal error"}"#))
        }
        #expect(failure == ResponseStreamFailure(exceptionType: "InternalStreamFailure", code: "InternalStreamFailure", message: "internal error"))
        #expect(failure?.description == "SageMaker response stream failed: InternalStreamFailure: internal error")
    }

    @Test func aNonJSONExceptionBodyIsTheMessage() throws {
        var stream = SageMakerResponseStream()
        let failure = #expect(throws: ResponseStreamFailure.self) { try stream.feed(Self.exception("ModelStreamError", "stream broke")) }
        #expect(failure == ResponseStreamFailure(exceptionType: "ModelStreamError", code: "ModelStreamError", message: "stream broke"))
    }

    @Test func errorMessagesUseTheirHeaders() throws {
        var stream = SageMakerResponseStream()
        let failure = #expect(throws: ResponseStreamFailure.self) {
            try stream.feed(Self.error(code: "InternalServerError", message: "We encountered an internal error."))
        }
        #expect(failure == ResponseStreamFailure(code: "InternalServerError", message: "We encountered an internal error."))
        #expect(failure?.description == "SageMaker response stream failed: InternalServerError: We encountered an internal error.")
    }

    @Test func tokensBeforeAFailureAreReturnedAndTheFailureFollows() throws {
        var stream = SageMakerResponseStream()
        let bytes = Self.payloadPart("Deep learning is") + Self.exception("ModelStreamError", #"{"Message":"broken","ErrorCode":"StreamBroken"}"#)
            + Self.payloadPart("never seen")
        #expect(texts(try stream.feed(bytes)) == ["Deep learning is"])
        let again = #expect(throws: ResponseStreamFailure.self) { try stream.feed(Self.payloadPart("more")) }
        #expect(again?.code == "StreamBroken")
        #expect(throws: ResponseStreamFailure.self) { try stream.finish() }
    }

    @Test func messagesOutsideTheProtocolAreFramingErrors() throws {
        let untyped = EventStreamEncoder.encode(EventStreamMessage(headers: [.init(":event-type", "PayloadPart")], payload: [1]))
        var stream = SageMakerResponseStream()
        #expect(throws: EventStreamError.unexpectedMessage(reason: "a message without :message-type", offset: 0)) { try stream.feed(untyped) }

        let odd = EventStreamEncoder.encode(EventStreamMessage(headers: [.init(":message-type", "gossip")]))
        stream = SageMakerResponseStream()
        #expect(texts(try stream.feed(Self.payloadPart("x") + odd)) == ["x"], "the payload part before it is returned first")
        let later = #expect(throws: EventStreamError.self) { try stream.finish() }
        #expect(later?.description.contains("unknown :message-type \"gossip\"") == true)
    }

    @Test func framesAreClassifiedByTheirOwnHeadersAfterManyPayloadParts() throws {
        // The stream skips parsing headers identical to the last PayloadPart's: any other
        // block, even one of the same length, must still be read.
        let sameLength = EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":event-type", "PayloadPbrt"), .init(":content-type", "application/octet-stream"),
                      .init(":message-type", "event")], payload: Array("skipped".utf8)))
        let reordered = EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":message-type", "event"), .init(":event-type", "PayloadPart")], payload: Array("c".utf8)))
        var stream = SageMakerResponseStream()
        #expect(texts(try stream.feed(Self.payloadPart("a") + Self.payloadPart("b"))) == ["a", "b"])
        #expect(texts(try stream.feed(sameLength + reordered + Self.payloadPart("d"))) == ["c", "d"])
        let failure = #expect(throws: ResponseStreamFailure.self) {
            _ = try stream.feed(Self.payloadPart("e") + Self.exception("ModelStreamError", #"{"Message":"m","ErrorCode":"StreamBroken"}"#))
            try stream.finish()
        }
        #expect(failure?.code == "StreamBroken")
    }

    @Test func aCutStreamIsReportedByFinish() throws {
        var stream = SageMakerResponseStream()
        let bytes = Self.payloadPart("abc")
        #expect(try stream.feed(bytes.dropLast(3)).isEmpty)
        #expect(stream.bytesPending == bytes.count - 3)
        #expect(throws: EventStreamError.truncated(bytesPending: bytes.count - 3, offset: 0)) { try stream.finish() }
    }
}
