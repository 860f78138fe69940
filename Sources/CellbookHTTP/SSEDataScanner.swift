#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one server-sent-events framer: pulls the data of each event out of body bytes as they come, without building
/// Strings: the framing rules of the SSE specification (lines end with "\n", "\r\n" or
/// "\r", chunks split anywhere, comments, a leading byte order mark, `data:` with or without a
/// space, a blank line dispatches, an unterminated last event is dispatched at the end).
/// Fields other than `data` do not matter to a chat stream and are skipped.
///
/// It runs for every read of every stream, so line ends are found with memchr, and an event
/// whose one data line lies within a single read is handed over in place, uncopied.
public struct SSEDataScanner {

    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    /// Bytes of a line not yet ended, carried to the next read.
    private var partialLine: [UInt8] = []
    /// The data lines of the event being built, joined with "\n", once they had to be copied.
    private var data: [UInt8] = []
    /// The event's only data line so far, still in the caller's buffer (valid during `feed`).
    private var inPlace: UnsafeBufferPointer<UInt8>?
    private var hasData = false
    private var skipLeadingLF = false
    private var atStreamStart = true

    public init() {
        partialLine.reserveCapacity(512)
        data.reserveCapacity(512)
    }

    /// Scans a read; `dispatch` gets the data of each event it completes (valid during the call).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ dispatch: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return }
        let buffer = UnsafeBufferPointer(start: base, count: bytes.count)
        let count = buffer.count
        defer { keepInPlaceData() }
        var index = 0
        if skipLeadingLF {
            skipLeadingLF = false
            if buffer[0] == Self.lf { index = 1 }
        }
        // Servers end lines with "\n"; a read without any "\r" can be split on "\n" alone.
        let plainLF = memchr(base + index, Int32(Self.cr), count - index) == nil
        var lineStart = index
        while index < count {
            let lineEnd: Int
            if plainLF {
                guard let found = memchr(base + index, Int32(Self.lf), count - index) else { break }
                lineEnd = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
            } else {
                var cursor = index
                while cursor < count, buffer[cursor] != Self.lf, buffer[cursor] != Self.cr { cursor += 1 }
                if cursor == count { break }
                lineEnd = cursor
            }
            let line = UnsafeBufferPointer(rebasing: buffer[lineStart..<lineEnd])
            if partialLine.isEmpty {
                try processLine(line, inReadBuffer: true, dispatch)
            } else {
                partialLine.append(contentsOf: line)
                var carried: [UInt8] = []
                swap(&carried, &partialLine)
                defer {
                    carried.removeAll(keepingCapacity: true)
                    swap(&carried, &partialLine)
                }
                try carried.withUnsafeBufferPointer { (whole) in
                    try processLine(whole, inReadBuffer: false, dispatch)
                }
            }
            index = lineEnd + 1
            if buffer[lineEnd] == Self.cr {
                if index < count {
                    if buffer[index] == Self.lf { index += 1 }
                } else {
                    skipLeadingLF = true
                }
            }
            lineStart = index
        }
        if lineStart < count {
            partialLine.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[lineStart..<count]))
        }
    }

    /// Ends the stream: a last line without its line ending and an event without its closing
    /// blank line are dispatched rather than dropped (servers that close right after their last
    /// `data:` line would otherwise lose `[DONE]` or the usage chunk).
    public mutating func finish(_ dispatch: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        if !partialLine.isEmpty {
            let last = partialLine
            partialLine.removeAll()
            try last.withUnsafeBufferPointer { (whole) in
                try processLine(whole, inReadBuffer: false, dispatch)
            }
        }
        try dispatchEvent(dispatch)
    }

    /// The read buffer is about to go: data still pointing into it is copied.
    private mutating func keepInPlaceData() {
        if let pending = inPlace {
            data.append(contentsOf: pending)
            inPlace = nil
        }
    }

    private mutating func processLine(_ raw: UnsafeBufferPointer<UInt8>, inReadBuffer: Bool,
                                      _ dispatch: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        var line = raw[...]
        if atStreamStart {
            atStreamStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }  // byte order mark
        }
        if line.isEmpty {
            try dispatchEvent(dispatch)
            return
        }
        // "data:" or a bare "data" line; anything else (comments, event:, id:, retry:) is skipped.
        let start = line.startIndex
        guard line.count >= 4, raw[start] == UInt8(ascii: "d"), raw[start + 1] == UInt8(ascii: "a"),
              raw[start + 2] == UInt8(ascii: "t"), raw[start + 3] == UInt8(ascii: "a") else { return }
        var value = line.dropFirst(4)
        if let first = value.first {
            guard first == UInt8(ascii: ":") else { return }  // "database: ..." is another field
            value = value.dropFirst()
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        }
        if !hasData && inReadBuffer {
            inPlace = UnsafeBufferPointer(rebasing: value)
        } else {
            keepInPlaceData()
            if hasData { data.append(Self.lf) }
            data.append(contentsOf: value)
        }
        hasData = true
    }

    private mutating func dispatchEvent(_ dispatch: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        guard hasData else { return }
        hasData = false
        if let pending = inPlace {
            inPlace = nil
            try dispatch(pending)
            return
        }
        defer { data.removeAll(keepingCapacity: true) }
        try data.withUnsafeBufferPointer { (payload) in try dispatch(payload) }
    }
}

