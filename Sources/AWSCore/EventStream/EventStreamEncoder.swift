/// Encodes event-stream messages: what test fakes serve in place of SageMaker's response stream.
public enum EventStreamEncoder {
    /// The frame of `message`, checksums included.
    ///
    /// The caller must respect the format's limits; breaking one is a programming error and
    /// stops the program: header names of 1-255 UTF-8 bytes, bytes and string values of at most
    /// 65535 bytes, UUIDs of exactly 16 bytes.
    public static func encode(_ message: EventStreamMessage) -> [UInt8] {
        var out: [UInt8] = []
        encode(message, into: &out)
        return out
    }

    /// Appends the frame of `message` to `out`.
    public static func encode(_ message: EventStreamMessage, into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: [UInt8](repeating: 0, count: EventStreamDecoder.preludeLength))
        for header in message.headers {
            let name = Array(header.name.utf8)
            precondition((1...255).contains(name.count), "event-stream header names are 1-255 bytes: \(header.name)")
            out.append(UInt8(name.count))
            out.append(contentsOf: name)
            out.append(header.value.typeCode)
            switch header.value {
            case .bool: break
            case .byte(let value): out.append(UInt8(bitPattern: value))
            case .int16(let value): appendBigEndian(UInt16(bitPattern: value), to: &out)
            case .int32(let value): appendBigEndian(UInt32(bitPattern: value), to: &out)
            case .int64(let value), .timestamp(let value): appendBigEndian(UInt64(bitPattern: value), to: &out)
            case .bytes(let bytes): appendLengthPrefixed(bytes, header: header.name, to: &out)
            case .string(let text): appendLengthPrefixed(Array(text.utf8), header: header.name, to: &out)
            case .uuid(let bytes):
                precondition(bytes.count == 16, "event-stream UUID header \(header.name) needs 16 bytes, has \(bytes.count)")
                out.append(contentsOf: bytes)
            }
        }
        let headersLength = out.count - start - EventStreamDecoder.preludeLength
        out.append(contentsOf: message.payload)
        let total = out.count - start + 4
        precondition(total <= Int(UInt32.max), "an event-stream message is at most 4 GiB")
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(total).bigEndian, toByteOffset: start, as: UInt32.self)
            raw.storeBytes(of: UInt32(headersLength).bigEndian, toByteOffset: start + 4, as: UInt32.self)
            let preludeCRC = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<(start + 8)]))
            raw.storeBytes(of: preludeCRC.bigEndian, toByteOffset: start + 8, as: UInt32.self)
        }
        let messageCRC = out.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        appendBigEndian(messageCRC, to: &out)
    }

    private static func appendLengthPrefixed(_ bytes: [UInt8], header: String, to out: inout [UInt8]) {
        precondition(bytes.count <= Int(UInt16.max), "event-stream header \(header) holds \(bytes.count) bytes, at most 65535")
        appendBigEndian(UInt16(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    private static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
}
