import CellbookHTTP
import ServingKit
import Foundation
import Testing

/// Collected result of one streamed response.
private struct StreamedResponse {
    var status: Int?
    var headers: [String: String] = [:]
    var chunks: [(bytes: [UInt8], receivedAt: UInt64)] = []
    var events: [SSEEvent] = []
}

private func collect(_ stream: AsyncThrowingStream<HTTPStreamEvent, Error>) async throws -> StreamedResponse {
    var response = StreamedResponse()
    var parser = SSECollector()
    for try await event in stream {
        switch event {
        case .head(let status, let headers):
            #expect(response.status == nil, "a second head")
            response.status = status
            response.headers = headers
        case .body(let bytes, let receivedAt):
            #expect(response.status != nil, "body before head")
            response.chunks.append((bytes, receivedAt))
            response.events += parser.feed(bytes, receivedAt: receivedAt)
        }
    }
    response.events += parser.finish()
    return response
}

@Suite("HTTPClient against a local server", .timeLimit(.minutes(1)))
struct HTTPClientTests {
    let server: TestServer
    let client = HTTPClient()

    init() throws {
        server = try TestServer.shared()
    }

    @Test("send returns status, headers and body")
    func sendGet() async throws {
        let response = try await client.send(HTTPRequest(url: server.url("/status/200")))
        #expect(response.status == 200)
        #expect(response.bodyText == "status 200 from the test server")
        #expect(response.header("Content-Type") == "text/plain")
        #expect(response.headers["content-length"] == "31")
    }

    @Test("POST carries the headers and every byte of the body")
    func postEcho() async throws {
        let body: [UInt8] = [0, 1, 2, 255] + Array("héllo".utf8) + [UInt8](repeating: 120, count: 5000)
        let response = try await client.send(HTTPRequest(
            method: "POST", url: server.url("/echo"), headers: ["X-Test": "yes", "Content-Type": "application/octet-stream"],
            body: body))
        let echoed = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
        let headers = echoed["headers"] as? [String: String] ?? [:]
        #expect(echoed["method"] as? String == "POST")
        #expect(headers["x-test"] == "yes")
        #expect(headers["expect"] == nil, "libcurl's Expect: 100-continue would stall large bodies")
        #expect(echoed["body_hex"] as? String == body.map { String(format: "%02x", $0) }.joined())

        let put = try await client.send(HTTPRequest(method: "PUT", url: server.url("/echo"), body: Data("x".utf8)))
        let putEcho = try JSONSerialization.jsonObject(with: Data(put.body)) as? [String: Any] ?? [:]
        #expect(putEcho["method"] as? String == "PUT")
        #expect(putEcho["body_hex"] as? String == "78")
    }

    @Test("a non-2xx status is a response, not an error")
    func non2xxIsAResponse() async throws {
        let response = try await client.send(HTTPRequest(url: server.url("/status/503")))
        #expect(response.status == 503)
        #expect(!response.isSuccess)
        #expect(response.bodyText.contains("503"))

        let streamed = try await collect(client.stream(HTTPRequest(url: server.url("/status/404"))))
        #expect(streamed.status == 404)
        #expect(String(decoding: streamed.chunks.flatMap(\.bytes), as: UTF8.self).contains("404"))
    }

    @Test("stream chunks arrive with increasing timestamps that reflect the server's pauses")
    func streamTimestamps() async throws {
        let pauseMs = 120.0
        let start = MonotonicClock.nanoseconds()
        let response = try await collect(client.stream(HTTPRequest(url: server.url("/sse?events=6&pause_ms=\(Int(pauseMs))"))))
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/event-stream")
        #expect(response.events.map(\.data) == (0..<6).map { "{\"i\": \($0)}" } + ["[DONE]"])

        let times = response.chunks.map(\.receivedAt)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 }, "timestamps must increase: \(times)")
        #expect(times.allSatisfy { $0 >= start })
        // The server cannot send event 5 before it has slept five times.
        let lastEvent = response.events[5].receivedAt
        #expect(milliseconds(lastEvent - start) >= 5 * pauseMs * 0.95)
        // Most gaps between events should show the pause (generous: half of it).
        let eventTimes = response.events.prefix(6).map(\.receivedAt)
        let gaps = zip(eventTimes, eventTimes.dropFirst()).map { milliseconds($1 - $0) }
        #expect(gaps.filter { $0 >= pauseMs / 2 }.count >= 3, "gaps in ms: \(gaps)")
    }

    @Test("timestamps are taken on arrival, not when the consumer reads")
    func timestampsTakenOnArrival() async throws {
        var iterator = client.stream(HTTPRequest(url: server.url("/sse?events=4&pause_ms=150"))).makeAsyncIterator()
        guard case .head(let status, _)? = try await iterator.next() else {
            Issue.record("expected the head first")
            return
        }
        #expect(status == 200)
        // Let the whole stream (about 450 ms) arrive before reading any of it; 3 s leaves a
        // loaded 2-core machine plenty of time to deliver it.
        try await Task.sleep(for: .milliseconds(3000))
        let readStart = MonotonicClock.nanoseconds()
        var times: [UInt64] = []
        var parser = SSECollector()
        while let event = try await iterator.next() {
            if case .body(let bytes, let receivedAt) = event {
                times += parser.feed(bytes, receivedAt: receivedAt).map(\.receivedAt)
            }
        }
        #expect(times.count == 5)
        #expect(times.allSatisfy { $0 < readStart }, "every chunk was stamped before it was read")
        // Had the stamps been taken when read, they would all sit within a few ms.
        // Generous (half the server's pauses): a loaded machine can stamp the first chunk late.
        if let first = times.first, let last = times.last {
            #expect(milliseconds(last - first) >= 3 * 150 * 0.5)
        }
    }

    @Test("an SSE stream written in awkward pieces parses to the intended events")
    func awkwardPieces() async throws {
        let response = try await collect(client.stream(HTTPRequest(url: server.url("/split"))))
        #expect(response.events.map(\.data) == ["caf\u{E9}", "no-space\nsecond line", "last"])
    }

    @Test("16 concurrent streams all complete on one client")
    func sixteenConcurrentStreams() async throws {
        try await concurrentStreams(16, events: 8, pauseMs: 100)
    }

    @Test("128 concurrent streams all complete on one client")
    func oneHundredTwentyEightConcurrentStreams() async throws {
        try await concurrentStreams(128, events: 5, pauseMs: 100)
    }

    private func concurrentStreams(_ count: Int, events: Int, pauseMs: Int) async throws {
        let url = server.url("/sse?events=\(events)&pause_ms=\(pauseMs)")
        let expected = (0..<events).map { "{\"i\": \($0)}" } + ["[DONE]"]
        let start = MonotonicClock.nanoseconds()
        let results = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<count {
                group.addTask { try await collect(client.stream(HTTPRequest(url: url))).events.map(\.data) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = milliseconds(MonotonicClock.nanoseconds() - start)
        #expect(results.count == count)
        #expect(results.allSatisfy { $0 == expected })
        // One after another they would take count x (events - 1) x pause; run
        // together, about one stream's time. Half the serial time is a loose bound.
        let serial = Double(count * (events - 1) * pauseMs)
        #expect(elapsed < serial / 2, "took \(elapsed) ms; serially \(serial) ms")
    }

    @Test("a refused connection throws HTTPError.connectionRefused with the URL")
    func connectionRefused() async throws {
        let url = "http://127.0.0.1:\(unusedLoopbackPort())/v1/chat/completions"
        do {
            _ = try await client.send(HTTPRequest(url: url))
            Issue.record("expected an error")
        } catch let error as HTTPError {
            guard case .connectionRefused = error else {
                Issue.record("expected connectionRefused, got \(error)")
                return
            }
            #expect(error.url == url)
            #expect(error.description.contains(url))
            #expect(error.description.contains("refused"))
        }

        await #expect(throws: HTTPError.self) {
            for try await _ in client.stream(HTTPRequest(url: url)) {}
        }
    }

    @Test("a URL libcurl cannot use fails with the URL in the message")
    func unusableURL() async throws {
        for url in ["gopherx://127.0.0.1/", "http://"] {
            do {
                _ = try await client.send(HTTPRequest(url: url))
                Issue.record("expected an error for \(url)")
            } catch let error as HTTPError {
                #expect(error.url == url)
                #expect(error.description.contains(url))
            }
        }
    }

    @Test("a server that dies mid-stream gives the events so far, then an error")
    func serverDiesMidStream() async throws {
        var data: [String] = []
        var parser = SSECollector()
        do {
            for try await event in client.stream(HTTPRequest(url: server.url("/abort"))) {
                if case .body(let bytes, let receivedAt) = event {
                    data += parser.feed(bytes, receivedAt: receivedAt).map(\.data)
                }
            }
            Issue.record("expected an error for a body cut short")
        } catch let error as HTTPError {
            guard case .transferFailed(let url, _, _) = error else {
                Issue.record("expected transferFailed, got \(error)")
                return
            }
            #expect(url == server.url("/abort"))
        }
        #expect(data == ["one", "two"])
    }

    @Test("the total timeout fires")
    func totalTimeout() async throws {
        let start = MonotonicClock.nanoseconds()
        do {
            _ = try await client.send(HTTPRequest(url: server.url("/slow?seconds=30"), timeout: .milliseconds(400)))
            Issue.record("expected a timeout")
        } catch let error as HTTPError {
            guard case .timedOut = error else {
                Issue.record("expected timedOut, got \(error)")
                return
            }
            #expect(error.description.contains("timed out"))
        }
        let elapsed = milliseconds(MonotonicClock.nanoseconds() - start)
        // Far below the answer's 30 s: generous, so a loaded machine does not fail it.
        #expect(elapsed >= 350 && elapsed < 15000, "took \(elapsed) ms")
    }

    @Test("the total timeout ends a stream that is still sending")
    func streamTimeout() async throws {
        var bodyChunks = 0
        do {
            let request = HTTPRequest(url: server.url("/endless?id=timeout-\(UUID())&interval_ms=50"), timeout: .milliseconds(500))
            for try await event in client.stream(request) {
                if case .body = event { bodyChunks += 1 }
            }
            Issue.record("expected a timeout")
        } catch let error as HTTPError {
            guard case .timedOut = error else {
                Issue.record("expected timedOut, got \(error)")
                return
            }
        }
        #expect(bodyChunks >= 2, "events before the timeout: \(bodyChunks)")
    }

    @Test("cancelling the consumer's task closes an idle connection")
    func cancelConsumerTaskWhileIdle() async throws {
        // The server sends one event and then nothing: only the cancellation
        // itself, not a failed write, can end this transfer.
        let id = "cancel-idle-\(UUID())"
        let firstEvent = AsyncStream.makeStream(of: Void.self)
        let task = Task { [client, server] in
            defer { firstEvent.continuation.finish() }  // a failed stream must not leave the test waiting
            for try await event in client.stream(HTTPRequest(url: server.url("/silent?id=\(id)&seconds=20"))) {
                if case .body = event { firstEvent.continuation.yield() }
            }
        }
        var signals = firstEvent.stream.makeAsyncIterator()
        #expect(await signals.next() != nil, "the stream ended before its first event")
        task.cancel()
        let start = MonotonicClock.nanoseconds()
        _ = try await task.value
        // The server stays silent for 20 s; 10 s is generous for a loaded machine and still tells them apart.
        #expect(milliseconds(MonotonicClock.nanoseconds() - start) < 10000, "the consumer was not released promptly")
        let disconnected = try await eventually(within: 5) {
            try await server.endlessStats(id: id, client: client).disconnected
        }
        #expect(disconnected, "the connection stayed open after the consumer was cancelled")
    }

    @Test("dropping an idle stream closes its connection")
    func dropIdleStream() async throws {
        let id = "drop-idle-\(UUID())"
        var events = 0
        for try await event in client.stream(HTTPRequest(url: server.url("/silent?id=\(id)&seconds=20"))) {
            if case .body = event { events += 1 }
            if events == 1 { break }
        }
        let disconnected = try await eventually(within: 5) {
            try await server.endlessStats(id: id, client: client).disconnected
        }
        #expect(disconnected, "the connection stayed open after the stream was dropped")
    }

    @Test("cancelling the consumer's task stops a transfer that is still sending")
    func cancelConsumerTaskWhileSending() async throws {
        let id = "cancel-\(UUID())"
        let task = Task { [client, server] in
            var received = 0
            for try await event in client.stream(HTTPRequest(url: server.url("/endless?id=\(id)&interval_ms=50"))) {
                if case .body = event { received += 1 }
            }
            return received
        }
        let started = try await eventually(within: 5) { try await server.endlessStats(id: id, client: client).sent >= 3 }
        #expect(started)
        task.cancel()
        _ = try await task.value
        let disconnected = try await eventually(within: 5) {
            try await server.endlessStats(id: id, client: client).disconnected
        }
        #expect(disconnected, "the server kept sending after the consumer was cancelled")
    }

    @Test("cancelling a send throws CancellationError promptly")
    func cancelSend() async throws {
        let start = MonotonicClock.nanoseconds()
        // The answer would take 30 s; a cancelled send ends long before. 15 s leaves a loaded
        // 2-core machine ample slack while still telling "cancelled" from "waited for it".
        let task = Task { [client, server] in
            try await client.send(HTTPRequest(url: server.url("/slow?seconds=30")))
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(milliseconds(MonotonicClock.nanoseconds() - start) < 15000)
    }

    @Test("a send on an already-cancelled task does not run")
    func sendOnCancelledTask() async throws {
        // Had it been sent, the answer would take 30 s; the bound (15 s) is generous for a loaded machine.
        let task = Task { [client, server] in
            withUnsafeCurrentTask { $0?.cancel() }
            return try await client.send(HTTPRequest(url: server.url("/slow?seconds=30")))
        }
        let start = MonotonicClock.nanoseconds()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(milliseconds(MonotonicClock.nanoseconds() - start) < 15000)
    }

    @Test("environment proxies do not catch loopback traffic unless asked to")
    func proxyPolicy() async throws {
        // The proxy variable is set in a child process: changing the
        // environment while other tests' threads read it would be a data race.
        let port = server.port
        await #expect(processExitsWith: .success) { [port = port as Int] in
            // A "proxy" where nothing listens: any request routed through it fails.
            setenv("http_proxy", "http://127.0.0.1:\(unusedLoopbackPort())", 1)
            let client = HTTPClient()
            for host in ["127.0.0.1", "localhost"] {
                let response = try? await client.send(HTTPRequest(url: "http://\(host):\(port)/status/200"))
                if response?.status != 200 { exit(1) }  // the default policy went through the proxy
            }
            do {
                _ = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/status/200", proxy: .environment))
                exit(2)  // .environment ignored the proxy
            } catch is HTTPError {
                exit(0)
            }
        }
    }

    @Test("the client's thread ends and nothing leaks when the client goes away")
    func clientLifetime() async throws {
        weak var weakClient: HTTPClient?
        var stream: AsyncThrowingStream<HTTPStreamEvent, Error>?
        do {
            let shortLived = HTTPClient()
            weakClient = shortLived
            stream = shortLived.stream(HTTPRequest(url: server.url("/sse?events=3&pause_ms=50")))
        }
        // The stream keeps its client alive until it ends.
        #expect(weakClient != nil)
        let response = try await collect(stream!)
        #expect(response.events.count == 4)
        stream = nil
        #expect(await eventually(within: 2) { weakClient == nil })
    }
}

@Suite("Chat streams (ServingKit's OpenAI transport) against a local server", .timeLimit(.minutes(1)))
struct ChatCompletionsHTTPTests {
    let server: TestServer
    let client = HTTPClient()

    init() throws {
        server = try TestServer.shared()
    }

    private func streamEvents(model: String, maxTokens: Int? = nil, includeUsage: Bool = false,
                              path: String = "/v1/chat/completions") async throws -> [CompletionStreamEvent] {
        let transport = OpenAIChatTransport(client: client, url: server.url(path), includeUsage: includeUsage)
        let request = CompletionRequest(requestID: "t", model: model, messages: [ChatMessage(role: "user", content: "What is deep learning?")],
                                        maxTokens: maxTokens)
        var events: [CompletionStreamEvent] = []
        for try await event in transport.stream(request) {
            if case .responseHead = event { continue }
            events.append(event)
        }
        return events
    }

    @Test("TGI-style stream: chunks with increasing times, finish, usage")
    func tgiStream() async throws {
        let start = MonotonicClock.nanoseconds()
        let events = try await streamEvents(model: "tgi", maxTokens: 3, includeUsage: true)
        var text = ""
        var times: [UInt64] = []
        for case .chunk(let chunk) in events {
            text += chunk.text
            times.append(chunk.receivedAt)
        }
        #expect(text == "Hello, world")
        #expect(times.count == 3 && times.allSatisfy { $0 > start })
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Array(events.suffix(2)) == [.finish(reason: "length"), .usage(promptTokens: 11, completionTokens: 3)])
    }

    @Test("llama-server-style stream: finish and usage from one final chunk")
    func llamaStream() async throws {
        let events = try await streamEvents(model: "llama")
        #expect(events.filter { if case .chunk = $0 { true } else { false } }.count == 8)
        #expect(Array(events.suffix(2)) == [.finish(reason: "stop"), .usage(promptTokens: 11, completionTokens: 8)])
    }

    @Test("an error sent as data with HTTP 200 fails the stream with its message")
    func errorWithStatus200() async throws {
        do {
            _ = try await streamEvents(model: "tgi-error")
            Issue.record("expected an in-stream error")
        } catch let error as CompletionStreamError {
            guard case .inStream(_, let message) = error else {
                Issue.record("expected inStream, got \(error)")
                return
            }
            #expect(message.contains("Input validation error"))
        }
    }

    @Test("a non-2xx answer throws with the status and the body's text")
    func non2xxStream() async throws {
        do {
            _ = try await streamEvents(model: "overloaded")
            Issue.record("expected an error")
        } catch let error as CompletionStreamError {
            #expect(error == .httpStatus(code: 429, body: #"{"error": "Model is overloaded", "error_type": "overloaded"}"#))
            #expect(error.description.contains("429"))
        }
    }

    @Test("a 200 answer that is not an event stream is not taken for an answer")
    func notAnEventStream() async throws {
        // /echo answers any POST with a JSON document, as a server that ignores "stream" would.
        await #expect(throws: CompletionStreamError.self) {
            _ = try await streamEvents(model: "m", path: "/echo")
        }
    }
}
