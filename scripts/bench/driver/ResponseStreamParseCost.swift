import AWSCore
import CellbookHTTP
import ServingKit

/// `--parse-cost` for the response stream: what the SageMaker path adds on the HTTP thread
/// (event-stream framing: both CRCs, headers, payload hand-over) before the same SSE framing and
/// chunk scan, timed like `LoadBenchHarness.parseCost`, without the network or the VM's noise.
enum ResponseStreamParseCost {
    /// Nanoseconds per chunk over reads of `eventsPerRead` PayloadPart messages, one OpenAI chunk
    /// event each (best of five rounds of `chunks`).
    static func measure(chunks: Int = 1_000_000, eventsPerRead: Int = 8) -> Double {
        let event = "data:{\"id\":\"chatcmpl-loadbench-1-17\",\"object\":\"chat.completion.chunk\",\"created\":1795820419,"
            + "\"model\":\"fake/tgi-model\",\"system_fingerprint\":\"fake\",\"choices\":[{\"index\":0,\"delta\":"
            + "{\"role\":\"assistant\",\"content\":\" quick\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        let frame = EventStreamEncoder.encode(EventStreamMessage(
            headers: [.init(":event-type", "PayloadPart"), .init(":content-type", "application/octet-stream"),
                      .init(":message-type", "event")],
            payload: Array(event.utf8)))
        let read = Array([[UInt8]](repeating: frame, count: eventsPerRead).joined())
        var best = Double.infinity
        for _ in 0..<5 {
            let parser = ChatStreamParser()
            var stream = SageMakerResponseStream()
            var transcript = CompletionTranscript()
            transcript.chunkTimes.reserveCapacity(chunks + eventsPerRead)
            let start = MonotonicClock.nanoseconds()
            var sent = 0
            read.withUnsafeBytes { bytes in
                while sent < chunks {
                    try? stream.feed(bytes) { part in _ = try parser.feed(part, receivedAt: 1, into: &transcript) }
                    sent += eventsPerRead
                }
            }
            best = min(best, Double(MonotonicClock.nanoseconds() - start) / Double(sent))
        }
        return best
    }
}
