import CellbookHTTP
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Records what a sink is told, checks the order of calls and the thread they come on, and
/// lets a test await the end. `raw` asks for the body with its transfer coding left in.
final class RecordingSink: HTTPStreamSink, @unchecked Sendable {
    struct Record: Sendable {
        var status: Int?
        var headers: [String: String] = [:]
        var chunks: [(bytes: [UInt8], receivedAt: UInt64)] = []
        var end: HTTPStreamEnd?
        var outOfOrder: [String] = []
        var threads: Set<UInt> = []
    }

    private let lock = NSLock()
    private var record = Record()
    private var waiter: CheckedContinuation<Record, Never>?
    private let acceptHead: Bool
    private let stopAfterChunks: Int?
    let wantsRawTransferCoding: Bool
    /// Called on each chunk (on the loop thread), after it is recorded.
    var onChunk: (@Sendable (Int) -> Void)?

    init(acceptHead: Bool = true, stopAfterChunks: Int? = nil, raw: Bool = false) {
        self.acceptHead = acceptHead
        self.stopAfterChunks = stopAfterChunks
        wantsRawTransferCoding = raw
    }

    private static var thread: UInt { UInt(bitPattern: Int(pthread_self())) }

    func receiveHead(status: Int, headers: [String: String]) -> Bool {
        lock.withLock {
            if record.status != nil { record.outOfOrder.append("second head") }
            if record.end != nil { record.outOfOrder.append("head after finish") }
            record.status = status
            record.headers = headers
            record.threads.insert(Self.thread)
        }
        return acceptHead
    }

    func receiveBody(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> Bool {
        let count: Int = lock.withLock {
            if record.status == nil { record.outOfOrder.append("body before head") }
            if record.end != nil { record.outOfOrder.append("body after finish") }
            record.chunks.append((Array(bytes.bindMemory(to: UInt8.self)), receivedAt))
            record.threads.insert(Self.thread)
            return record.chunks.count
        }
        onChunk?(count)
        if let stopAfterChunks { return count < stopAfterChunks }
        return true
    }

    func finish(_ end: HTTPStreamEnd) {
        let (waiting, snapshot): (CheckedContinuation<Record, Never>?, Record) = lock.withLock {
            if record.end != nil { record.outOfOrder.append("second finish") }
            record.end = end
            record.threads.insert(Self.thread)
            defer { waiter = nil }
            return (waiter, record)
        }
        waiting?.resume(returning: snapshot)
    }

    /// Waits for `finish`.
    func ended() async -> Record {
        await withCheckedContinuation { continuation in
            let done: Record? = lock.withLock {
                if record.end != nil { return record }
                waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    var events: [SSEEvent] {
        var parser = SSECollector()
        let chunks = lock.withLock { record.chunks }
        return chunks.flatMap { parser.feed($0.bytes, receivedAt: $0.receivedAt) } + parser.finish()
    }
}

@Suite("HTTPClient streaming to a sink on the loop thread", .timeLimit(.minutes(1)))
struct HTTPStreamSinkTests {
    let server: TestServer
    let client = HTTPClient()

    init() throws {
        server = try TestServer.shared()
    }

    @Test("head, stamped chunks and completion arrive in order, all on one thread that is not the caller's")
    func headChunksCompletion() async throws {
        let sink = RecordingSink()
        let start = MonotonicClock.nanoseconds()
        client.stream(HTTPRequest(url: server.url("/sse?events=4&pause_ms=80")), to: sink)
        let record = await sink.ended()
        #expect(record.end == .completed)
        #expect(record.status == 200)
        #expect(record.headers["content-type"] == "text/event-stream")
        #expect(record.outOfOrder.isEmpty, "\(record.outOfOrder)")
        #expect(record.threads.count == 1, "every call on the loop thread")
        #expect(!record.threads.contains(UInt(bitPattern: Int(pthread_self()))))
        #expect(sink.events.map(\.data) == (0..<4).map { "{\"i\": \($0)}" } + ["[DONE]"])
        let times = record.chunks.map(\.receivedAt)
        #expect(times.allSatisfy { $0 >= start })
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "timestamps must increase: \(times)")
        if let first = times.first, let last = times.last {
            // Generous (half the pauses): a loaded machine can stamp the first chunk late.
            #expect(milliseconds(last - first) >= 3 * 80 * 0.5, "stamps reflect the server's pauses")
        }
    }

    @Test("a refused connection finishes with HTTPError.connectionRefused")
    func connectionRefused() async throws {
        let url = "http://127.0.0.1:\(unusedLoopbackPort())/"
        let sink = RecordingSink()
        client.stream(HTTPRequest(url: url), to: sink)
        let record = await sink.ended()
        guard case .failed(.connectionRefused(let failedURL, _))? = record.end else {
            Issue.record("expected connectionRefused, got \(String(describing: record.end))")
            return
        }
        #expect(failedURL == url)
        #expect(record.status == nil)
    }

    @Test("a server that dies mid-stream gives the chunks so far, then transferFailed")
    func serverDies() async throws {
        let sink = RecordingSink()
        client.stream(HTTPRequest(url: server.url("/abort")), to: sink)
        let record = await sink.ended()
        guard case .failed(.transferFailed)? = record.end else {
            Issue.record("expected transferFailed, got \(String(describing: record.end))")
            return
        }
        #expect(sink.events.map(\.data).prefix(2) == ["one", "two"])
    }

    @Test("the total timeout ends a sink stream that is still sending")
    func timeout() async throws {
        let sink = RecordingSink()
        let request = HTTPRequest(url: server.url("/endless?id=sink-timeout-\(UUID())&interval_ms=50"),
                                  timeout: .milliseconds(500))
        client.stream(request, to: sink)
        let record = await sink.ended()
        guard case .failed(.timedOut)? = record.end else {
            Issue.record("expected timedOut, got \(String(describing: record.end))")
            return
        }
        #expect(record.chunks.count >= 2)
    }

    @Test("cancelling the handle closes an idle connection and finishes with cancelled")
    func cancelIdle() async throws {
        let id = "sink-cancel-\(UUID())"
        let firstChunk = AsyncStream.makeStream(of: Void.self)
        let sink = RecordingSink()
        sink.onChunk = { _ in firstChunk.continuation.yield() }
        let handle = client.stream(HTTPRequest(url: server.url("/silent?id=\(id)&seconds=20")), to: sink)
        var signals = firstChunk.stream.makeAsyncIterator()
        _ = await signals.next()
        handle.cancel()
        handle.cancel()  // harmless twice
        let start = MonotonicClock.nanoseconds()
        let record = await sink.ended()
        #expect(record.end == .cancelled)
        // The server stays silent for 20 s; 10 s is generous for a loaded machine and still tells them apart.
        #expect(milliseconds(MonotonicClock.nanoseconds() - start) < 10000)
        #expect(record.outOfOrder.isEmpty, "\(record.outOfOrder)")
        let disconnected = try await eventually(within: 5) {
            try await server.endlessStats(id: id, client: client).disconnected
        }
        #expect(disconnected, "the connection stayed open after cancel()")
    }

    @Test("a sink that returns false stops a transfer that is still sending")
    func sinkStops() async throws {
        let id = "sink-stop-\(UUID())"
        let sink = RecordingSink(stopAfterChunks: 3)
        client.stream(HTTPRequest(url: server.url("/endless?id=\(id)&interval_ms=20")), to: sink)
        let record = await sink.ended()
        #expect(record.end == .cancelled)
        #expect(record.chunks.count == 3)
        let disconnected = try await eventually(within: 5) {
            try await server.endlessStats(id: id, client: client).disconnected
        }
        #expect(disconnected, "the server kept sending after the sink said stop")
    }

    @Test("a sink that turns down the head gets no body")
    func headRefused() async throws {
        let sink = RecordingSink(acceptHead: false)
        client.stream(HTTPRequest(url: server.url("/sse?events=3&pause_ms=50")), to: sink)
        let record = await sink.ended()
        #expect(record.end == .cancelled)
        #expect(record.status == 200)
        #expect(record.chunks.isEmpty)
    }

    @Test("128 concurrent sink streams all complete on one client, one after another from finish")
    func manyStreamsChained() async throws {
        final class Chain: HTTPStreamSink, @unchecked Sendable {
            let client: HTTPClient
            let url: String
            var remaining: Int
            var events = 0
            var failures: [HTTPStreamEnd] = []
            let done: CheckedContinuation<(Int, [HTTPStreamEnd]), Never>
            init(client: HTTPClient, url: String, requests: Int, done: CheckedContinuation<(Int, [HTTPStreamEnd]), Never>) {
                self.client = client
                self.url = url
                remaining = requests
                self.done = done
            }
            func receiveHead(status: Int, headers: [String: String]) -> Bool { status == 200 }
            func receiveBody(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> Bool {
                events += bytes.filter { $0 == UInt8(ascii: "\n") }.count
                return true
            }
            func finish(_ end: HTTPStreamEnd) {
                if end != .completed { failures.append(end) }
                remaining -= 1
                if remaining > 0 {
                    client.stream(HTTPRequest(url: url), to: self)  // from the loop thread
                } else {
                    done.resume(returning: (events, failures))
                }
            }
        }
        let url = server.url("/sse?events=5&pause_ms=20")
        let results = await withTaskGroup(of: (Int, [HTTPStreamEnd]).self) { group in
            for _ in 0..<128 {
                group.addTask { [client] in
                    await withCheckedContinuation { done in
                        client.stream(HTTPRequest(url: url), to: Chain(client: client, url: url, requests: 3, done: done))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 128)
        #expect(results.allSatisfy { $0.1.isEmpty }, "\(results.flatMap(\.1).prefix(3))")
        // 6 events of two lines each ("data: ...\n\n"), three requests per chain.
        #expect(results.allSatisfy { $0.0 == 3 * 6 * 2 }, "\(results.map(\.0).prefix(5))")
    }

    @Test("the client stays alive until a sink stream finishes")
    func clientLifetime() async throws {
        let sink = RecordingSink()
        do {
            let transient = HTTPClient()
            transient.stream(HTTPRequest(url: server.url("/sse?events=3&pause_ms=100")), to: sink)
        }
        let record = await sink.ended()
        #expect(record.end == .completed)
        #expect(sink.events.count == 4)
    }

    @Test("a URL libcurl cannot use finishes with a failure naming it")
    func unusableRequest() async throws {
        let sink = RecordingSink()
        client.stream(HTTPRequest(url: "notascheme://x"), to: sink)
        let record = await sink.ended()
        guard case .failed(let error)? = record.end else {
            Issue.record("expected a failure, got \(String(describing: record.end))")
            return
        }
        #expect(error.url == "notascheme://x")
    }
}
