@testable import CellbookHTTP
import Foundation
import Testing

extension RecordingSink.Record {
    /// The body, every chunk joined.
    var body: [UInt8] { chunks.flatMap(\.bytes) }

    /// The reads the body arrived in: libcurl hands over each HTTP chunk separately, so chunks
    /// stamped within 2 ms of the one before count as one read.
    var reads: Int {
        var reads = 0
        var last: UInt64 = 0
        for chunk in chunks {
            if chunk.receivedAt &- last > 2_000_000 { reads += 1 }
            last = chunk.receivedAt
        }
        return reads
    }
}

@Suite("Read batching")
struct ReadBatchingTests {
    static let ms: Int64 = 1_000_000

    @Test("batching starts at 1 ms above the threshold, stops below half of it, and holds in between")
    func onAndOff() {
        let batching = ReadBatching(maxWindow: .milliseconds(50), thresholdBytesPerSecond: 1_000_000, busyShare: 0.25)
        #expect(batching.isEnabled)
        #expect(batching.maxWindowNanoseconds == 50 * Self.ms)
        #expect(batching.nextWindow(bytesPerSecond: 2_000_000, busy: 0.9, current: 0) == 1 * Self.ms)
        #expect(batching.nextWindow(bytesPerSecond: 700_000, busy: 0.1, current: 8 * Self.ms) == 8 * Self.ms, "between half and the threshold: stays on")
        #expect(batching.nextWindow(bytesPerSecond: 700_000, busy: 0.9, current: 0) == 0, "between half and the threshold: stays off")
        #expect(batching.nextWindow(bytesPerSecond: 400_000, busy: 0.9, current: 8 * Self.ms) == 0)
    }

    @Test("the window doubles while reading is busy, up to the widest; halves when idle, down to 1 ms")
    func widening() {
        let batching = ReadBatching(maxWindow: .milliseconds(50), thresholdBytesPerSecond: 1_000_000, busyShare: 0.25)
        var window = batching.nextWindow(bytesPerSecond: 5e6, busy: 0.5, current: 0)
        var seen = [window]
        for _ in 0..<8 {
            window = batching.nextWindow(bytesPerSecond: 5e6, busy: 0.5, current: window)
            seen.append(window)
        }
        #expect(seen.map { $0 / Self.ms } == [1, 2, 4, 8, 16, 32, 50, 50, 50])
        #expect(batching.nextWindow(bytesPerSecond: 5e6, busy: 0.2, current: 16 * Self.ms) == 16 * Self.ms, "within the band: kept")
        #expect(batching.nextWindow(bytesPerSecond: 5e6, busy: 0.05, current: 16 * Self.ms) == 8 * Self.ms)
        #expect(batching.nextWindow(bytesPerSecond: 5e6, busy: 0.0, current: 1 * Self.ms) == 1 * Self.ms)
    }

    @Test("off never batches")
    func off() {
        #expect(!ReadBatching.off.isEnabled)
        #expect(ReadBatching.off.nextWindow(bytesPerSecond: 1e12, busy: 1, current: 0) == 0)
        #expect(!ReadBatching(maxWindow: .zero, thresholdBytesPerSecond: 1).isEnabled)
    }

    @Test("read statistics subtract and give the batched share")
    func statistics() {
        let later = HTTPReadStatistics(bytes: 1000, batchedBytes: 600, widestWindowNanoseconds: 4 * Self.ms)
        let earlier = HTTPReadStatistics(bytes: 200, batchedBytes: 0)
        #expect(later - earlier == HTTPReadStatistics(bytes: 800, batchedBytes: 600, widestWindowNanoseconds: 4 * Self.ms))
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

    /// 100 events 5 ms apart: about half a second of stream.
    var path: String { "/sse?events=100&pause_ms=5" }

    @Test("above the threshold, reads are batched: far fewer of them, every byte intact, and counted as batched")
    func batchedStream() async throws {
        let eagerClient = HTTPClient()
        let eager = RecordingSink()
        eagerClient.stream(HTTPRequest(url: server.url(path)), to: eager)
        let eagerResult = await eager.ended()

        // A threshold of 1 byte/s puts any stream above it once the first 10 ms are measured, and
        // a busy share of 0 widens the window at every reading, to the widest (50 ms) in ~250 ms.
        let client = HTTPClient(readBatching: ReadBatching(maxWindow: .milliseconds(50), thresholdBytesPerSecond: 1, busyShare: 0))
        let batched = RecordingSink()
        client.stream(HTTPRequest(url: server.url(path)), to: batched)
        let result = await batched.ended()

        #expect(eagerResult.end == .completed)
        #expect(result.end == .completed)
        #expect(result.body == eagerResult.body, "batching must not change the bytes")
        #expect(String(decoding: result.body, as: UTF8.self).hasSuffix("data: [DONE]\n\n"))
        // Read on arrival: about one read per event (100). The bound is loose because on a loaded
        // machine the reader can fall 5 ms behind and take two events in one read; batching's
        // windows (up to 50 ms) are far wider than such delays, so its count stays low under load.
        #expect(eagerResult.reads >= 50, "read on arrival: about one read per event, got \(eagerResult.reads)")
        #expect(result.reads <= 40, "widening batches over ~500 ms: far fewer reads, got \(result.reads)")
        #expect(result.reads < eagerResult.reads)
        let statistics = client.readStatistics
        #expect(statistics.bytes == result.body.count)
        #expect(statistics.batchedBytes > 0 && statistics.batchedShare > 0.5, "\(statistics)")
        #expect(statistics.widestWindowNanoseconds == 50 * ReadBatchingTests.ms, "\(statistics)")
        #expect(eagerClient.readStatistics.batchedBytes == 0)
        #expect(eagerClient.readStatistics.bytes == eagerResult.body.count)
    }

    @Test("below the threshold nothing is batched")
    func belowThreshold() async throws {
        let client = HTTPClient(readBatching: ReadBatching(maxWindow: .milliseconds(50), thresholdBytesPerSecond: 1e12, busyShare: 0))
        let sink = RecordingSink()
        client.stream(HTTPRequest(url: server.url(path)), to: sink)
        let result = await sink.ended()
        #expect(result.end == .completed)
        #expect(result.reads >= 50, "about one read per event (100); loose for a loaded machine, got \(result.reads)")
        #expect(client.readStatistics == HTTPReadStatistics(bytes: result.body.count, batchedBytes: 0))
    }

    @Test("a sink that asks for the raw body gets the chunked framing, which decodes to the same body")
    func rawTransferCoding() async throws {
        let client = HTTPClient()
        let decoded = RecordingSink()
        client.stream(HTTPRequest(url: server.url("/sse?events=5&pause_ms=1")), to: decoded)
        let plain = await decoded.ended()
        let raw = RecordingSink(raw: true)
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

    @Test("while a stream is read in wide batches, a new request is sent and answered on arrival")
    func newRequestNotHeld() async throws {
        // A window of 2 s, so that "held until the next batch" (up to 2 s late) and "on arrival"
        // (milliseconds) stay far apart even on a loaded 2-core machine: the bounds below leave
        // 750 ms for scheduling delays and still catch a request held by the batch.
        let window = 2000
        let client = HTTPClient(readBatching: ReadBatching(maxWindow: .milliseconds(window), thresholdBytesPerSecond: 1, busyShare: 0))
        let sink = RecordingSink()
        let handle = client.stream(HTTPRequest(url: server.url("/endless?id=batching-new-request&interval_ms=1")), to: sink)
        defer { handle.cancel() }
        var widened = false
        for _ in 0..<300 where !widened {
            try await Task.sleep(for: .milliseconds(50))
            widened = client.readStatistics.widestWindowNanoseconds == Int64(window) * ReadBatchingTests.ms
        }
        try #require(widened, "the window never widened to \(window) ms: \(client.readStatistics)")
        let start = MonotonicClock.nanoseconds()
        let response = try await client.send(HTTPRequest(url: server.url("/status/200")))
        let elapsedMs = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(response.status == 200)
        #expect(elapsedMs < 750, "a new connection, request and answer took \(elapsedMs) ms under \(window) ms batching")

        // An answer that takes 300 ms to come is read when it comes, not at the next batch:
        // its first byte is what a time to first token measures.
        let slowStart = MonotonicClock.nanoseconds()
        let slow = try await client.send(HTTPRequest(url: server.url("/slow?seconds=0.3")))
        let slowMs = Double(MonotonicClock.nanoseconds() - slowStart) / 1e6
        #expect(slow.bodyText == "slow answer")
        #expect(slowMs < 300 + 750, "an answer sent after 300 ms was read after \(slowMs) ms under \(window) ms batching")
    }
}
