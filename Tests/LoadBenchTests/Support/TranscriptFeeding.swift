@testable import ServingKit
import CellbookJSON
import CellbookHTTP
@testable import LoadBench

/// Drives `ChatTranscriptSink` the way the HTTP event loop does (head, body reads, one finish),
/// without a network: the smallest seam that puts chosen bytes, split where a test wants, into
/// the transcript path. A read the sink refuses ends the transfer as `.cancelled`, as
/// `HTTPStreamSink` promises.
func transcriptOfSink(reads: [[UInt8]], receivedAt times: [UInt64], status: Int = 200,
                      headers: [String: String] = ["content-type": "text/event-stream"],
                      end: HTTPStreamEnd = .completed, maxTokens: Int = 16) async -> CompletionTranscript {
    precondition(reads.count == times.count, "one receive time per read")
    let sink = ChatTranscriptSink(url: "http://sink.test/v1/chat/completions",
                                  expectedChunks: maxTokens + 1, framing: nil, progress: nil)
    var accepted = sink.receiveHead(status: status, headers: headers)
    for (read, time) in zip(reads, times) where accepted {
        accepted = read.withUnsafeBytes { sink.receiveBody($0, receivedAt: time) }
    }
    sink.finish(accepted ? end : .cancelled)
    return await withCheckedContinuation { sink.deliver(to: $0) }
}

/// The event path of `ChatStreamParser` (what the chat cell reads) over whole byte arrays.
struct ChatStreamInterpreter {
    private let parser = ChatStreamParser()
    var sawDone: Bool { parser.sawDone }

    func feed(_ bytes: [UInt8], receivedAt: UInt64) throws(CompletionStreamError) -> [CompletionStreamEvent] {
        var events: [CompletionStreamEvent] = []
        try feed(bytes, receivedAt: receivedAt, into: &events)
        return events
    }

    func feed(_ bytes: [UInt8], receivedAt: UInt64, into events: inout [CompletionStreamEvent]) throws(CompletionStreamError) {
        let outcome = bytes.withUnsafeBytes { raw in
            Result { () throws(CompletionStreamError) in try parser.feed(raw, receivedAt: receivedAt, into: &events) }
        }
        try outcome.get()
    }

    func finish() throws(CompletionStreamError) -> [CompletionStreamEvent] {
        var events: [CompletionStreamEvent] = []
        try parser.finish(receivedAt: 0, into: &events)
        return events
    }
}

/// The same bytes through the stream path's parser (`ChatStreamInterpreter`), reduced to what a
/// transcript records, so the two paths can be compared on identical input.
func transcriptOfInterpreter(reads: [[UInt8]], receivedAt times: [UInt64]) -> CompletionTranscript {
    let interpreter = ChatStreamInterpreter()
    var transcript = CompletionTranscript()
    var events: [CompletionStreamEvent] = []
    do {
        for (read, time) in zip(reads, times) {
            try interpreter.feed(read, receivedAt: time, into: &events)
        }
        events += try interpreter.finish()
    } catch let error as CompletionStreamError {
        transcript.failure = error
    } catch {
        transcript.failure = .malformed(detail: "\(error)")
    }
    for event in events {
        switch event {
        case .chunk(let chunk): transcript.chunkTimes.append(chunk.receivedAt)
        case .usage(let prompt, let completion):
            if let prompt { transcript.promptTokens = prompt }
            if let completion { transcript.completionTokens = completion }
        case .finish(let reason): transcript.finishReason = reason
        case .responseHead: break
        }
    }
    return transcript
}

/// A transcript without its wall-clock end stamp, for comparing runs of the same bytes.
func withoutEndStamp(_ transcript: CompletionTranscript) -> CompletionTranscript {
    var copy = transcript
    copy.endedAt = 0
    return copy
}

/// Hides `OpenAIChatTransport`'s transcript fast path, so `LoadTest.sendOne` takes the
/// per-event stream path over the same HTTP client and server.
struct StreamPathOnly: ChatStreamTransport {
    let base: OpenAIChatTransport

    func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        base.stream(request)
    }
}

/// `body` in HTTP/1.1 chunked transfer coding, `size` bytes a chunk, with a trailer.
func chunkedFraming(_ body: [UInt8], size: Int) -> [UInt8] {
    var wire: [UInt8] = []
    var start = 0
    while start < body.count {
        let end = min(start + size, body.count)
        wire += Array(String(end - start, radix: 16).utf8) + [13, 10] + body[start..<end] + [13, 10]
        start = end
    }
    return wire + Array("0\r\nX-Trailer: 1\r\n\r\n".utf8)
}
