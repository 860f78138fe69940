import CellbookHTTP

/// The data of one server-sent event and when the read that completed it arrived.
struct SSEEvent: Equatable {
    var data: String
    var receivedAt: UInt64
}

/// Collects events from streamed bodies with CellbookHTTP's SSE framer, for tests that check
/// what a streamed response carried.
struct SSECollector {
    private var scanner = SSEDataScanner()

    mutating func feed(_ bytes: [UInt8], receivedAt: UInt64) -> [SSEEvent] {
        var events: [SSEEvent] = []
        bytes.withUnsafeBytes { raw in
            scanner.feed(raw) { events.append(SSEEvent(data: String(decoding: $0, as: UTF8.self), receivedAt: receivedAt)) }
        }
        return events
    }

    mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        scanner.finish { events.append(SSEEvent(data: String(decoding: $0, as: UTF8.self), receivedAt: 0)) }
        return events
    }
}
