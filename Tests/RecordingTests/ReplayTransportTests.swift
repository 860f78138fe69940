import CellbookHTTP
import CellbookJSON
import CellbookRecording
import Foundation
import ReplayServing
import ServingKit
import Testing

@Suite("Replay transport")
struct ReplayTransportTests {
    static let request = CompletionRequest(requestID: "r1", model: "m", messages: [ChatMessage(role: "user", content: "hi")], maxTokens: 8)

    static func exchange(body: String, pieces: [(Double, String)]) -> RecordedExchange {
        RecordedExchange(t: 0, cell: "chat", method: "POST", path: "/v1/chat/completions", requestBody: body, status: 200,
                         headers: [:], chunks: pieces.map { .init(dt: $0.0, text: $0.1) }, error: nil, durationS: pieces.last?.0 ?? 0)
    }

    static func sse(_ text: String) -> String {
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(text)\"}}]}\n\n"
    }

    static var recorded: RecordedExchange {
        let body = JSONValue.object(request.messagesAPIBody(includeUsage: true)).serialized()
        return exchange(body: body, pieces: [(0.02, sse("Hel")), (0.05, sse("lo")),
                                             (0.08, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")])
    }

    @Test("a matching request streams the recorded answer at the recorded times")
    func streamsAtRecordedPace() async throws {
        let transport = ReplayChatTransport(exchanges: RecordedExchanges([Self.recorded]), paths: ["/v1/chat/completions"])
        let start = MonotonicClock.nanoseconds()
        var text = ""
        var times: [Double] = []
        var finish = ""
        for try await event in transport.stream(Self.request) {
            if case .chunk(let c) = event {
                text += c.text
                times.append(Double(c.receivedAt - start) / 1e9)
            }
            if case .finish(let reason) = event { finish = reason }
        }
        #expect(text == "Hello")
        #expect(finish == "stop")
        #expect(times.count == 2)
        // Never early; late only by scheduling (loose: the suites run in parallel on a busy machine).
        #expect(times[0] >= 0.0195 && times[1] >= 0.0495 && times[1] < 0.5, "\(times)")
    }

    @Test("the transcript path (the benchmark's) gets the same chunks and times, faster with speed")
    func transcriptPath() async throws {
        var slow = Self.recorded
        slow.chunks = slow.chunks.map { .init(dt: $0.dt * 8, text: $0.text) }  // 0.16, 0.4, 0.64 s
        let transport = ReplayChatTransport(exchanges: RecordedExchanges([slow]), paths: ["/v1/chat/completions"], speed: 4)
        let start = MonotonicClock.nanoseconds()
        let t = await transport.transcript(Self.request, progress: nil)
        #expect(t.failure == nil)
        #expect(t.finishReason == "stop")
        #expect(t.chunkTimes.count == 2)
        let second = Double(t.chunkTimes[1] - start) / 1e9
        #expect(second >= 0.0995 && second < 0.3, "\(second): four times as fast as the recorded 400 ms")
    }

    @Test("a request the recording does not hold fails, naming the closest recorded one and where they differ")
    func unmatchedRequest() async throws {
        let transport = ReplayChatTransport(exchanges: RecordedExchanges([Self.recorded]), paths: ["/v1/chat/completions"])
        var other = Self.request
        other.messages = [ChatMessage(role: "user", content: "bye")]
        do {
            for try await _ in transport.stream(other) {}
            Issue.record("an unmatched request was answered")
        } catch {
            let text = "\(error)"
            #expect(text.contains("no answer for POST /v1/chat/completions"), "\(text)")
            #expect(text.contains("closest recorded request is POST /v1/chat/completions of cell 'chat'"), "\(text)")
            #expect(text.contains("\"hi\"") && text.contains("\"bye\""), "\(text)")
        }
    }

    @Test("bodies match as JSON whatever their key order")
    func bodyOrder() throws {
        let x = RecordedExchanges([Self.exchange(body: "{\"a\":1,\"b\":[1,2]}", pieces: [])])
        #expect(throws: Never.self) { try x.answer(method: "POST", paths: ["/v1/chat/completions"], body: "{\"b\":[1,2], \"a\":1}") }
        #expect(throws: ReplayMismatch.self) { try x.answer(method: "GET", paths: ["/v1/chat/completions"], body: "{\"a\":1,\"b\":[1,2]}") }
    }
}
