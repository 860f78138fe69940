@testable import CellbookHTTP
import Foundation
import Testing

/// Collects a streamed response and counts the reads it arrived in: libcurl hands over each
/// HTTP chunk separately, so chunks stamped within 2 ms of the one before count as one read.
private final class CountingSink: HTTPStreamSink, @unchecked Sendable {
    let wantsRawTransferCoding: Bool
    private let lock = NSLock()
    private var body: [UInt8] = []
    private var reads = 0
    private var lastStamp: UInt64 = 0
    private var waiter: CheckedContinuation<(body: [UInt8], reads: Int, end: HTTPStreamEnd), Never>?
    private var result: (body: [UInt8], reads: Int, end: HTTPStreamEnd)?

    init(raw: Bool = false) { wantsRawTransferCoding = raw }

    func receiveHead(status: Int, headers: [String: String]) -> Bool { true }

    func receiveBody(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> Bool {
        lock.withLock {
            body.append(contentsOf: bytes.bindMemory(to: UInt8.self))
            if receivedAt &- lastStamp > 2_000_000 { reads += 1 }
            lastStamp = receivedAt
        }
        return true
    }

    func finish(_ end: HTTPStreamEnd) {
        let waiting = lock.withLock { () -> CheckedContinuation<(body: [UInt8], reads: Int, end: HTTPStreamEnd), Never>? in
            result = (body, reads, end)
            defer { waiter = nil }
            return waiter
        }
        if let waiting, let result { waiting.resume(returning: result) }
    }

    func ended() async -> (body: [UInt8], reads: Int, end: HTTPStreamEnd) {
        await withCheckedContinuation { continuation in
            let done = lock.withLock { () -> (body: [UInt8], reads: Int, end: HTTPStreamEnd)? in
                if let result { return result }
                waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}

@Suite("Read batching")
struct ReadBatchingTests {
    @Test("batching switches on above the threshold, off below half of it, and holds in between")
    func hysteresis() {
        let batching = ReadBatching(window: .milliseconds(8), thresholdBytesPerSecond: 1_000_000)
        #expect(batching.isEnabled)
        #expect(batching.windowNanoseconds == 8_000_000)
        #expect(batching.period(bytesPerSecond: 2_000_000, current: 0) == 8_000_000)
        #expect(batching.period(bytesPerSecond: 700_000, current: 8_000_000) == 8_000_000, "between half and the threshold: stays on")
        #expect(batching.period(bytesPerSecond: 700_000, current: 0) == 0, "between half and the threshold: stays off")
        #expect(batching.period(bytesPerSecond: 400_000, current: 8_000_000) == 0)
    }

    @Test("off never batches")
    func off() {
        #expect(!ReadBatching.off.isEnabled)
        #expect(ReadBatching.off.period(bytesPerSecond: 1e12, current: 0) == 0)
        #expect(!ReadBatching(window: .zero, thresholdBytesPerSecond: 1).isEnabled)
    }

    @Test("read statistics subtract and give the batched share")
    func statistics() {
        let later = HTTPReadStatistics(bytes: 1000, batchedBytes: 600)
        let earlier = HTTPReadStatistics(bytes: 200, batchedBytes: 0)
        #expect(later - earlier == HTTPReadStatistics(bytes: 800, batchedBytes: 600))
        #expect((later - earlier).batchedShare == 0.75)
        #expect(HTTPReadStatistics().batchedShare == 0)
    }
}

@Suite("Read batching on a live stream", .timeLimit(.minutes(1)))
struct ReadBatchingStreamTests {
    let server: TestServer

    init() throws {
        server = try TestServer.shared()
    }

    /// 60 events 5 ms apart: about 300 ms of stream.
    var path: String { "/sse?events=60&pause_ms=5" }

    @Test("above the threshold, reads are batched: far fewer of them, every byte intact, and counted as batched")
    func batchedStream() async throws {
        let eagerClient = HTTPClient()
        let eager = CountingSink()
        eagerClient.stream(HTTPRequest(url: server.url(path)), to: eager)
        let eagerResult = await eager.ended()

        // A threshold of 1 byte/s puts any stream above it once the first 10 ms are measured.
        let client = HTTPClient(readBatching: ReadBatching(window: .milliseconds(50), thresholdBytesPerSecond: 1))
        let batched = CountingSink()
        client.stream(HTTPRequest(url: server.url(path)), to: batched)
        let result = await batched.ended()

        #expect(eagerResult.end == .completed)
        #expect(result.end == .completed)
        #expect(result.body == eagerResult.body, "batching must not change the bytes")
        #expect(String(decoding: result.body, as: UTF8.self).hasSuffix("data: [DONE]\n\n"))
        #expect(eagerResult.reads >= 40, "read on arrival: about one read per event, got \(eagerResult.reads)")
        #expect(result.reads <= 20, "50 ms batches over ~300 ms: a handful of reads, got \(result.reads)")
        let statistics = client.readStatistics
        #expect(statistics.bytes == result.body.count)
        #expect(statistics.batchedBytes > 0 && statistics.batchedShare > 0.5, "\(statistics)")
        #expect(eagerClient.readStatistics.batchedBytes == 0)
        #expect(eagerClient.readStatistics.bytes == eagerResult.body.count)
    }

    @Test("below the threshold nothing is batched")
    func belowThreshold() async throws {
        let client = HTTPClient(readBatching: ReadBatching(window: .milliseconds(50), thresholdBytesPerSecond: 1e12))
        let sink = CountingSink()
        client.stream(HTTPRequest(url: server.url(path)), to: sink)
        let result = await sink.ended()
        #expect(result.end == .completed)
        #expect(result.reads >= 40, "got \(result.reads)")
        #expect(client.readStatistics == HTTPReadStatistics(bytes: result.body.count, batchedBytes: 0))
    }

    @Test("a sink that asks for the raw body gets the chunked framing, which decodes to the same body")
    func rawTransferCoding() async throws {
        let client = HTTPClient()
        let decoded = CountingSink()
        client.stream(HTTPRequest(url: server.url("/sse?events=5&pause_ms=1")), to: decoded)
        let plain = await decoded.ended()
        let raw = CountingSink(raw: true)
        client.stream(HTTPRequest(url: server.url("/sse?events=5&pause_ms=1")), to: raw)
        let wire = await raw.ended()
        #expect(plain.end == .completed && wire.end == .completed)
        #expect(wire.body != plain.body, "the raw body keeps the chunk framing")
        var decoder = ChunkedDecoder()
        var body: [UInt8] = []
        let sound = wire.body.withUnsafeBytes { bytes in decoder.decode(bytes) { body.append(contentsOf: $0) } }
        #expect(sound && decoder.isComplete)
        #expect(body == plain.body)
    }
}
