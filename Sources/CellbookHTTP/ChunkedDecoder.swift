/// Undoes HTTP/1.1 chunked transfer coding as the bytes arrive, for an `HTTPStreamSink` that
/// takes bodies raw (`wantsRawTransferCoding`): it hands out the data of each read in place,
/// without copying, however the framing is split across reads.
///
/// It reads `size[;extensions] CRLF data CRLF` up to the `0` chunk, then skips trailer lines to
/// the blank line that ends the body. Bare LF line ends are accepted, as libcurl accepts them.
public struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        /// Reading a chunk-size line: the size so far, whether a hex digit was seen, and whether
        /// the rest of the line is an extension.
        case size(UInt64, digits: Bool, extensions: Bool)
        /// Inside a chunk's data, with this many bytes to go.
        case data(UInt64)
        /// After a chunk's data: its CR (optional) and LF.
        case dataEnd(sawCR: Bool)
        /// After the last chunk: trailer lines until an empty one. `lineLength` counts the
        /// current line's bytes other than CR.
        case trailer(lineLength: Int)
        case done
        case malformed(String)
    }

    private var state = State.size(0, digits: false, extensions: false)

    public init() {}

    /// The terminating chunk and trailers have been read: the body is complete.
    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Why the framing is not chunked transfer coding, once it was found not to be.
    public var problem: String? {
        if case .malformed(let reason) = state { return reason }
        return nil
    }

    /// Decodes one read, calling `body` with each run of data bytes in it (valid during the call).
    /// Returns false when the framing is malformed (see `problem`); bytes after the end are ignored.
    public mutating func decode<E: Error>(_ bytes: UnsafeRawBufferPointer,
                                          _ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) -> Bool {
        guard let base = bytes.baseAddress else { return problem == nil }
        var index = 0
        let count = bytes.count
        while index < count {
            switch state {
            case .data(let remaining):
                let take = Int(min(remaining, UInt64(count - index)))
                try body(UnsafeRawBufferPointer(start: base + index, count: take))
                index += take
                state = remaining == UInt64(take) ? .dataEnd(sawCR: false) : .data(remaining - UInt64(take))
            case .size(var size, var digits, var extensions):
                var ended = false
                while index < count {
                    let byte = bytes[index]
                    index += 1
                    if byte == 0x0A {
                        ended = true
                        break
                    }
                    if extensions || byte == 0x0D { continue }
                    if byte == UInt8(ascii: ";") || byte == 0x20 || byte == 0x09 {
                        extensions = true
                        continue
                    }
                    guard let digit = Self.hexValue(byte), size >> 60 == 0 else {
                        state = .malformed(digitsProblem(byte))
                        return false
                    }
                    size = size << 4 | UInt64(digit)
                    digits = true
                }
                if !ended {
                    state = .size(size, digits: digits, extensions: extensions)
                } else if !digits {
                    state = .malformed("a chunk-size line without a size")
                    return false
                } else {
                    state = size == 0 ? .trailer(lineLength: 0) : .data(size)
                }
            case .dataEnd(let sawCR):
                let byte = bytes[index]
                index += 1
                if byte == 0x0D && !sawCR {
                    state = .dataEnd(sawCR: true)
                } else if byte == 0x0A {
                    state = .size(0, digits: false, extensions: false)
                } else {
                    state = .malformed("chunk data longer than its declared size")
                    return false
                }
            case .trailer(var length):
                var ended = false
                while index < count {
                    let byte = bytes[index]
                    index += 1
                    if byte == 0x0A {
                        ended = length == 0
                        length = 0
                        if ended { break }
                    } else if byte != 0x0D {
                        length += 1
                    }
                }
                state = ended ? .done : .trailer(lineLength: length)
            case .done:
                return true
            case .malformed:
                return false
            }
        }
        return true
    }

    private func digitsProblem(_ byte: UInt8) -> String {
        Self.hexValue(byte) == nil ? "a chunk size with the byte \(byte), not a hex digit" : "a chunk size too large"
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
