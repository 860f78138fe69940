/// Why bytes are not a valid AWS event stream. `offset` is where the offending message starts,
/// counted in bytes from the start of the stream.
public enum EventStreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The CRC-32 of the first 8 bytes does not match the prelude's checksum: the lengths cannot
    /// be trusted.
    case preludeCRCMismatch(expected: UInt32, actual: UInt32, offset: Int)
    /// The CRC-32 of the message does not match its trailing checksum.
    case messageCRCMismatch(expected: UInt32, actual: UInt32, offset: Int)
    /// The message declares more bytes than the decoder accepts.
    case messageTooLong(length: Int, limit: Int, offset: Int)
    /// The declared lengths cannot describe a message (total under 16 bytes, or headers longer
    /// than the room the total leaves them).
    case invalidLength(totalLength: Int, headersLength: Int, offset: Int)
    /// The stream ended inside a message.
    case truncated(bytesPending: Int, offset: Int)
    /// The headers block does not parse.
    case malformedHeader(reason: String, offset: Int)
    /// A well-formed message the protocol on top does not allow (no `:message-type`, an unknown one).
    case unexpectedMessage(reason: String, offset: Int)

    public var description: String {
        switch self {
        case .preludeCRCMismatch(let expected, let actual, let offset):
            return "event stream: prelude checksum mismatch in the message at byte \(offset) "
                + "(frame says \(hex(expected)), bytes give \(hex(actual))); the stream is corrupt or not an event stream"
        case .messageCRCMismatch(let expected, let actual, let offset):
            return "event stream: message checksum mismatch in the message at byte \(offset) "
                + "(frame says \(hex(expected)), bytes give \(hex(actual))); the message was corrupted in transit"
        case .messageTooLong(let length, let limit, let offset):
            return "event stream: the message at byte \(offset) declares \(length) bytes, "
                + "more than the limit of \(limit); the stream is corrupt or the limit too low"
        case .invalidLength(let total, let headers, let offset):
            return "event stream: the message at byte \(offset) declares a total of \(total) bytes "
                + "with \(headers) bytes of headers, which cannot fit the 16 bytes of framing; the stream is corrupt"
        case .truncated(let pending, let offset):
            return "event stream: the stream ended inside the message at byte \(offset) "
                + "(\(pending) bytes of it received); the connection was probably cut"
        case .malformedHeader(let reason, let offset):
            return "event stream: malformed headers in the message at byte \(offset): \(reason)"
        case .unexpectedMessage(let reason, let offset):
            return "event stream: unexpected message at byte \(offset): \(reason)"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
