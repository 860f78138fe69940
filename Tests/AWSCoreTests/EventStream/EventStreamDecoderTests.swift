import AWSCore
import Testing

@Suite struct EventStreamDecoderTests {
    /// The empty message as REFERENCE.md writes it.
    static let emptyMessage: [UInt8] = [0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xC2, 0x48, 0xEB, 0x7D, 0x98, 0xC8, 0xFF]

    private func decodeAll(_ bytes: [UInt8], maxMessageLength: Int = EventStreamDecoder.defaultMaxMessageLength) throws -> [EventStreamMessage] {
        var decoder = EventStreamDecoder(maxMessageLength: maxMessageLength)
        let messages = try decoder.feed(bytes)
        try decoder.finish()
        return messages
    }

    /// The error a whole buffer gives, from `feed` or else from `finish`.
    private func decodingError(_ bytes: [UInt8], maxMessageLength: Int = EventStreamDecoder.defaultMaxMessageLength) -> EventStreamError? {
        var decoder = EventStreamDecoder(maxMessageLength: maxMessageLength)
        do {
            _ = try decoder.feed(bytes)
            try decoder.finish()
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: EventStreamVectors.positiveNames)
    func positiveVectorDecodesToItsDescription(_ name: String) throws {
        let bytes = try EventStreamVectors.encoded("positive", name)
        let expected = try EventStreamVectors.decoded(name)
        let messages = try decodeAll(bytes)
        #expect(messages == [try expected.message()])
        // The framing numbers of the description match the bytes.
        #expect(bytes.count == expected.total_length)
        #expect(Int(bytes[4]) << 24 | Int(bytes[5]) << 16 | Int(bytes[6]) << 8 | Int(bytes[7]) == expected.headers_length)
        #expect(CRC32.checksum(bytes[0..<8]) == UInt32(truncatingIfNeeded: expected.prelude_crc))
        #expect(CRC32.checksum(bytes.dropLast(4)) == UInt32(truncatingIfNeeded: expected.message_crc))
    }

    @Test func allHeadersVectorHasEveryType() throws {
        let message = try #require(try decodeAll(EventStreamVectors.encoded("positive", "all_headers")).first)
        #expect(message[header: "event-type"] == .int32(40972))
        #expect(message[header: "content-type"] == .string("application/json"))
        #expect(message.contentType == nil, "`:content-type` is not `content-type`")
        #expect(message[header: "bool false"] == .bool(false))
        #expect(message[header: "bool true"] == .bool(true))
        #expect(message[header: "byte"] == .byte(-49))
        #expect(message[header: "byte buf"] == .bytes(Array("I'm a little teapot!".utf8)))
        #expect(message[header: "timestamp"] == .timestamp(8_675_309))
        #expect(message[header: "int16"] == .int16(42))
        #expect(message[header: "int64"] == .int64(42_424_242))
        #expect(message[header: "uuid"] == .uuid(Array(1...16)))
        #expect(message.payload == Array("{'foo':'bar'}".utf8))
    }

    @Test(arguments: EventStreamVectors.negativeNames)
    func negativeVectorIsRejectedWithTheRightError(_ name: String) throws {
        let bytes = try EventStreamVectors.encoded("negative", name)
        let expectedText = try EventStreamVectors.decodedText("negative", name)
        let error = try #require(decodingError(bytes))
        switch expectedText.trimmingCharacters(in: .whitespacesAndNewlines) {
        case "Prelude checksum mismatch":
            guard case .preludeCRCMismatch(_, _, offset: 0) = error else {
                Issue.record("\(name): expected a prelude checksum mismatch, got \(error)")
                return
            }
        case "Message checksum mismatch":
            guard case .messageCRCMismatch(_, _, offset: 0) = error else {
                Issue.record("\(name): expected a message checksum mismatch, got \(error)")
                return
            }
        default:
            Issue.record("\(name): unknown expectation \(expectedText)")
        }
    }

    @Test func emptyMessageFromTheReference() throws {
        #expect(try decodeAll(Self.emptyMessage) == [EventStreamMessage()])
        #expect(EventStreamEncoder.encode(EventStreamMessage()) == Self.emptyMessage)
    }

    /// All positive vectors and a few SageMaker-shaped frames, back to back.
    private func stream() throws -> (bytes: [UInt8], messages: [EventStreamMessage]) {
        var bytes: [UInt8] = []
        var messages: [EventStreamMessage] = []
        for name in EventStreamVectors.positiveNames {
            bytes += try EventStreamVectors.encoded("positive", name)
            messages.append(try EventStreamVectors.decoded(name).message())
        }
        for text in ["data: {\"a\":1}\n\n", "data: [DONE]\n\n", ""] {
            let message = EventStreamMessage(
                headers: [.init(":event-type", "PayloadPart"), .init(":content-type", "application/octet-stream"),
                          .init(":message-type", "event")],
                payload: Array(text.utf8))
            bytes += EventStreamEncoder.encode(message)
            messages.append(message)
        }
        return (bytes, messages)
    }

    @Test func everySplitPointGivesTheSameMessages() throws {
        let (bytes, expected) = try stream()
        for split in 0...bytes.count {
            var decoder = EventStreamDecoder()
            var messages = try decoder.feed(bytes[..<split])
            messages += try decoder.feed(bytes[split...])
            try decoder.finish()
            #expect(messages == expected, "split at \(split)")
        }
    }

    @Test func byteByByteGivesTheSameMessages() throws {
        let (bytes, expected) = try stream()
        var decoder = EventStreamDecoder()
        var messages: [EventStreamMessage] = []
        for byte in bytes {
            messages += try decoder.feed([byte])
            #expect(decoder.bytesPending < 300)
        }
        try decoder.finish()
        #expect(messages == expected)
        #expect(decoder.bytesPending == 0)
    }

    @Test func randomSplitsGiveTheSameMessages() throws {
        let (bytes, expected) = try stream()
        var generator = SeededGenerator(seed: 42)
        for round in 0..<300 {
            var decoder = EventStreamDecoder()
            var messages: [EventStreamMessage] = []
            var index = 0
            while index < bytes.count {
                let length = Int.random(in: 0...min(80, bytes.count - index), using: &generator)
                messages += try decoder.feed(bytes[index..<(index + length)])
                index += length
            }
            try decoder.finish()
            #expect(messages == expected, "round \(round)")
        }
    }

    @Test func callbackFormDeliversInOrder() throws {
        let (bytes, expected) = try stream()
        var decoder = EventStreamDecoder()
        var messages: [EventStreamMessage] = []
        try bytes.withUnsafeBytes { raw in try decoder.feed(raw) { messages.append($0) } }
        #expect(messages == expected)
    }

    @Test func aThrowingCallbackLosesNoFollowingBytes() throws {
        struct Stop: Error {}
        let (bytes, expected) = try stream()
        var decoder = EventStreamDecoder()
        var messages: [EventStreamMessage] = []
        #expect(throws: Stop.self) {
            try bytes.withUnsafeBytes { raw in
                try decoder.feed(raw) { message in
                    messages.append(message)
                    if messages.count == 2 { throw Stop() }
                }
            }
        }
        #expect(messages.count == 2)
        #expect(decoder.bytesPending == bytes.count - EventStreamEncoder.encode(expected[0]).count - EventStreamEncoder.encode(expected[1]).count)
        // The kept bytes are decoded by the next read, even an empty one.
        messages += try decoder.feed([UInt8]())
        #expect(messages == expected)
        messages += try decoder.feed(EventStreamDecoderTests.emptyMessage)
        try decoder.finish()
        #expect(messages == expected + [EventStreamMessage()])
    }

    @Test func truncatedFramesAreReportedByFinish() throws {
        let bytes = try EventStreamVectors.encoded("positive", "all_headers")
        for length in 1..<bytes.count {
            var decoder = EventStreamDecoder()
            #expect(try decoder.feed(bytes[..<length]).isEmpty)
            #expect(throws: EventStreamError.truncated(bytesPending: length, offset: 0)) { try decoder.finish() }
        }
        // The offset names the message that was cut, not the first.
        var decoder = EventStreamDecoder()
        _ = try decoder.feed(Self.emptyMessage + bytes.prefix(20))
        #expect(throws: EventStreamError.truncated(bytesPending: 20, offset: 16)) { try decoder.finish() }
    }

    @Test func everyCorruptedByteIsDetected() throws {
        let (bytes, _) = try stream()
        let message = Array(bytes.suffix(EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":event-type", "PayloadPart"), .init(":content-type", "application/octet-stream"),
                      .init(":message-type", "event")], payload: [])).count))
        for position in message.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupted = message
                corrupted[position] ^= flip
                #expect(decodingError(corrupted) != nil, "byte \(position) xor \(flip)")
            }
        }
    }

    @Test func corruptedChecksumsSayWhichAndWhere() throws {
        var bytes = Self.emptyMessage + Self.emptyMessage
        bytes[16 + 15] ^= 1
        let error = try #require(decodingError(bytes))
        #expect(error == .messageCRCMismatch(expected: 0x7D98_C8FE, actual: 0x7D98_C8FF, offset: 16))
        #expect(error.description.contains("message checksum mismatch in the message at byte 16"))
        #expect(error.description.contains("0x7d98c8fe"))

        bytes = Self.emptyMessage
        bytes[9] ^= 0x10
        #expect(decodingError(bytes) == .preludeCRCMismatch(expected: 0x05D2_48EB, actual: 0x05C2_48EB, offset: 0))
    }

    @Test func goodMessagesBeforeABadOneAreStillReturned() throws {
        var bad = Self.emptyMessage
        bad[15] ^= 1
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(Self.emptyMessage + bad) == [EventStreamMessage()])
        // The error sticks.
        #expect(throws: EventStreamError.self) { try decoder.feed(Self.emptyMessage) }
        #expect(throws: EventStreamError.self) { try decoder.finish() }
    }

    @Test func errorsStick() throws {
        var decoder = EventStreamDecoder()
        var bad = Self.emptyMessage
        bad[2] = 1
        let first = #expect(throws: EventStreamError.self) { try decoder.feed(bad) }
        let second = #expect(throws: EventStreamError.self) { try decoder.feed(Self.emptyMessage) }
        #expect(first == second)
    }

    @Test func oversizedMessagesAreRejectedBeforeBuffering() throws {
        let big = EventStreamEncoder.encode(EventStreamMessage(payload: [UInt8](repeating: 7, count: 1000)))
        #expect(decodingError(big, maxMessageLength: 999) == .messageTooLong(length: 1016, limit: 999, offset: 0))
        #expect(try decodeAll(big, maxMessageLength: 1016).count == 1)
        // Only the prelude is needed to refuse: a 4 GiB claim costs nothing.
        var decoder = EventStreamDecoder()
        #expect(throws: EventStreamError.messageTooLong(length: Int(UInt32.max), limit: 24 * 1024 * 1024, offset: 0)) {
            try decoder.feed(prelude(total: UInt32.max, headers: 0))
        }
    }

    @Test func impossibleLengthsAreRejected() {
        #expect(decodingError(prelude(total: 15, headers: 0)) == .invalidLength(totalLength: 15, headersLength: 0, offset: 0))
        #expect(decodingError(prelude(total: 0, headers: 0)) == .invalidLength(totalLength: 0, headersLength: 0, offset: 0))
        #expect(decodingError(prelude(total: 20, headers: 5)) == .invalidLength(totalLength: 20, headersLength: 5, offset: 0))
        #expect(decodingError(prelude(total: 20, headers: UInt32.max)) == .invalidLength(
            totalLength: 20, headersLength: Int(UInt32.max), offset: 0))
    }

    @Test(arguments: [
        ([0x00, 0x07], "empty name"),
        ([0x05, 0x61, 0x62], "runs past the end"),
        ([0x01, 0x61], "runs past the end"),
        ([0x01, 0x61, 0x0A], "unknown type 10"),
        ([0x01, 0x61, 0xFF], "unknown type 255"),
        ([0x01, 0x61, 0x07, 0x00], "length of header \"a\""),
        ([0x01, 0x61, 0x07, 0x00, 0x05, 0x61], "needs 5 bytes, 1 are left"),
        ([0x01, 0x61, 0x04, 0x00, 0x00], "needs 4 bytes, 2 are left"),
        ([0x01, 0x61, 0x09, 0x00], "needs 16 bytes"),
        ([0x01, 0xFF, 0x00], "name is not valid UTF-8"),
        ([0x01, 0x61, 0x07, 0x00, 0x02, 0xC3, 0x28], "not valid UTF-8"),
    ] as [([UInt8], String)])
    func malformedHeadersAreRejected(_ rawHeaders: [UInt8], _ reason: String) throws {
        let error = try #require(decodingError(frame(rawHeaders: rawHeaders, payload: [1, 2, 3])))
        guard case .malformedHeader(let text, offset: 0) = error else {
            Issue.record("expected a malformed header, got \(error)")
            return
        }
        #expect(text.contains(reason), "\(text)")
        #expect(error.description.hasPrefix("event stream: malformed headers in the message at byte 0"))
    }

    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(seed: 1)
        var valid = 0
        for _ in 0..<3000 {
            let length = Int.random(in: 0...64, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Half the time give it a valid prelude so the header parser gets garbage too.
            if Bool.random(using: &generator), length >= 16 {
                let headers = UInt32.random(in: 0...UInt32(length - 16), using: &generator)
                bytes.replaceSubrange(0..<12, with: prelude(total: UInt32(length), headers: headers))
                bytes.replaceSubrange((length - 4)..<length, with: withUnsafeBytes(of: CRC32.checksum(bytes.dropLast(4)).bigEndian, Array.init))
            }
            if decodingError(bytes) == nil { valid += 1 }
        }
        #expect(valid > 0, "some random frames are well formed")
    }
}

@Suite struct EventStreamErrorTests {
    @Test func messagesSayWhatWhereAndWhy() {
        #expect(EventStreamError.messageTooLong(length: 30_000_000, limit: 25_165_824, offset: 64).description
            == "event stream: the message at byte 64 declares 30000000 bytes, more than the limit of 25165824; "
            + "the stream is corrupt or the limit too low")
        #expect(EventStreamError.invalidLength(totalLength: 10, headersLength: 0, offset: 0).description
            == "event stream: the message at byte 0 declares a total of 10 bytes with 0 bytes of headers, "
            + "which cannot fit the 16 bytes of framing; the stream is corrupt")
        #expect(EventStreamError.truncated(bytesPending: 5, offset: 32).description
            == "event stream: the stream ended inside the message at byte 32 (5 bytes of it received); the connection was probably cut")
        #expect(EventStreamError.unexpectedMessage(reason: "a message without :message-type", offset: 0).description
            == "event stream: unexpected message at byte 0: a message without :message-type")
        #expect(EventStreamError.preludeCRCMismatch(expected: 1, actual: 0xABCDEF, offset: 0).description
            .contains("(frame says 0x00000001, bytes give 0x00abcdef)"))
    }
}
