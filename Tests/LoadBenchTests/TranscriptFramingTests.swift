@testable import ServingKit
import CellbookJSON
import Testing
import CellbookHTTP
@testable import LoadBench

/// An SSE body built event by event, remembering for each content event the offset of the byte
/// whose arrival completes it (the first byte of its blank line's line ending), so a test knows
/// which read's receive stamp that chunk must carry however the bytes are split.
private struct ScriptedEventStream {
    var bytes: [UInt8] = []
    var contentDispatchOffsets: [Int] = []

    /// Lines other than data (comments, `event:`, `id:`, `retry:`), ended with `eol`.
    mutating func lines(_ lines: [String], eol: String) {
        for line in lines { bytes += Array((line + eol).utf8) }
    }

    /// One event: its lines, then the blank line that dispatches it.
    mutating func event(_ lines: [String], eol: String, carriesContent: Bool) {
        self.lines(lines, eol: eol)
        if carriesContent { contentDispatchOffsets.append(bytes.count) }
        bytes += Array(eol.utf8)
    }

    /// What a stream with a final `data: [DONE]` but no line ending after it looks like.
    mutating func unterminated(_ line: String) { bytes += Array(line.utf8) }
}

/// A realistic stream that exercises every framing rule the scanner claims: a byte order mark,
/// comments, `event:`/`id:`/`retry:` fields, "\n", "\r\n" and lone "\r" line endings, `data:`
/// with and without the space, a two-line data event, raw multi-byte UTF-8, an empty role
/// chunk, a usage-only chunk and `[DONE]`.
private func realisticStream(terminateDone: Bool = true) -> ScriptedEventStream {
    var stream = ScriptedEventStream()
    stream.bytes = [0xEF, 0xBB, 0xBF]
    stream.lines([": connected", ""], eol: "\r\n")
    stream.event(["event: message", "id: 1",
                  #"data:{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#],
                 eol: "\n", carriesContent: false)
    stream.event([#"data: {"choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}"#],
                 eol: "\r\n", carriesContent: true)
    stream.event([#"data: {"choices":[{"index":0,"delta":{"content":"é😀 café"},"finish_reason":null}]}"#],
                 eol: "\r", carriesContent: true)
    stream.event([#"data: {"choices":[{"index":0,"delta":"#, #"data: {"content":"ü"}}]}"#],
                 eol: "\r\n", carriesContent: true)
    stream.event([#"data:{"choices":[{"delta":{"content":"a\"b\\c\n"},"index":0}],"usage":null}"#],
                 eol: "\n", carriesContent: true)
    stream.lines(["retry: 1000", ": keep-alive", "database: not a data field"], eol: "\n")
    stream.event([#"data: {"choices":[{"index":0,"delta":{"content":" end"},"finish_reason":"length"}]}"#],
                 eol: "\n", carriesContent: true)
    stream.event([#"data: {"choices":[],"usage":{"prompt_tokens":17,"completion_tokens":5,"total_tokens":22}}"#],
                 eol: "\r\n", carriesContent: false)
    if terminateDone {
        stream.event(["data: [DONE]"], eol: "\r\n", carriesContent: false)
    } else {
        stream.unterminated("data: [DONE]")
    }
    return stream
}

/// Cuts `bytes` at the given sorted offsets; read `k` is stamped `(k + 1) * 1000`.
private func split(_ bytes: [UInt8], at cuts: [Int]) -> (reads: [[UInt8]], times: [UInt64]) {
    var reads: [[UInt8]] = []
    var start = 0
    for cut in cuts + [bytes.count] {
        reads.append(Array(bytes[start..<cut]))
        start = cut
    }
    return (reads, (0..<reads.count).map { UInt64($0 + 1) * 1000 })
}

/// What the transcript must say for `stream` cut at `cuts`: every content chunk stamped with the
/// receive time of the read that completed its event.
private func expectedTranscript(_ stream: ScriptedEventStream, cuts: [Int]) -> CompletionTranscript {
    let times = stream.contentDispatchOffsets.map { offset in
        UInt64(cuts.filter { $0 <= offset }.count + 1) * 1000
    }
    return CompletionTranscript(chunkTimes: times, promptTokens: 17, completionTokens: 5, finishReason: "length")
}

@Suite("The transcript path frames SSE the same however the bytes are split")
struct TranscriptFramingTests {
    @Test("the whole stream in one read gives five chunks, usage and the finish reason")
    func wholeStream() async {
        let stream = realisticStream()
        let transcript = await transcriptOfSink(reads: [stream.bytes], receivedAt: [1000])
        #expect(withoutEndStamp(transcript) == expectedTranscript(stream, cuts: []))
        #expect(transcript.failure == nil)
        #expect(!transcript.cancelled)
    }

    @Test("byte by byte, each chunk is stamped with the read that completed its event")
    func byteByByte() async {
        let stream = realisticStream()
        let cuts = Array(1..<stream.bytes.count)
        let (reads, times) = split(stream.bytes, at: cuts)
        let transcript = await transcriptOfSink(reads: reads, receivedAt: times)
        #expect(withoutEndStamp(transcript) == expectedTranscript(stream, cuts: cuts))
    }

    @Test("a chunked body taken raw (the framing undone by the sink) gives the same transcript, split anywhere")
    func chunkedTransferCoding() async {
        let stream = realisticStream()
        let wire = chunkedFraming(stream.bytes, size: 37)
        let chunked = ["content-type": "text/event-stream", "transfer-encoding": "chunked"]
        let whole = await transcriptOfSink(reads: [wire], receivedAt: [1000], headers: chunked)
        #expect(withoutEndStamp(whole) == expectedTranscript(stream, cuts: []))
        for position in 0...wire.count {
            let (reads, times) = split(wire, at: [position])
            let transcript = await transcriptOfSink(reads: reads, receivedAt: times, headers: chunked)
            #expect(transcript.chunkTimes.count == 5 && transcript.failure == nil && transcript.finishReason == "length"
                    && transcript.completionTokens == 5, "split at byte \(position) of \(wire.count): \(transcript)")
        }
    }

    @Test("a chunked error body is decoded into the error; broken chunk framing is a malformed stream")
    func chunkedErrorAndBrokenFraming() async {
        let chunked = ["content-type": "application/json", "transfer-encoding": "chunked"]
        let error = await transcriptOfSink(reads: [chunkedFraming(Array(#"{"error":"overloaded"}"#.utf8), size: 5)],
                                           receivedAt: [1000], status: 503, headers: chunked)
        #expect(error.failure == .httpStatus(code: 503, body: #"{"error":"overloaded"}"#))
        let broken = await transcriptOfSink(reads: [Array("zz\r\ndata: {}\r\n".utf8)], receivedAt: [1000], headers: chunked)
        guard case .malformed(let detail) = broken.failure else {
            Issue.record("expected a malformed stream, got \(String(describing: broken.failure))")
            return
        }
        #expect(detail.contains("chunked"))
    }

    @Test("a split at every position gives the same transcript")
    func everySplitPosition() async {
        let stream = realisticStream()
        for position in 0...stream.bytes.count {
            let (reads, times) = split(stream.bytes, at: [position])
            let transcript = await transcriptOfSink(reads: reads, receivedAt: times)
            #expect(withoutEndStamp(transcript) == expectedTranscript(stream, cuts: [position]),
                    "split at byte \(position) of \(stream.bytes.count)")
        }
    }

    @Test("splits at the awkward places a network actually produces")
    func awkwardSplits() async throws {
        let stream = realisticStream()
        let bytes = stream.bytes
        func offset(of text: String) throws -> Int {
            try #require(firstIndex(of: Array(text.utf8), in: bytes), "'\(text)' is not in the stream")
        }
        let helloLineEnd = try offset(of: #"Hello"},"finish_reason":null}]}"# + "\r\n")
            + Array(#"Hello"},"finish_reason":null}]}"#.utf8).count
        let emoji = try offset(of: "é😀")
        let cases: [(String, [Int])] = [
            ("between \\r and \\n", [helloLineEnd + 1]),
            ("between the \\r\\n of a line and that of the blank line", [helloLineEnd + 2]),
            ("between the two \\r of a CR-only event", [stream.contentDispatchOffsets[1]]),
            ("inside data:", [try offset(of: #"data: {"choices":[{"index":0,"delta":{"content":"Hello"#) + 3]),
            ("between data: and its space", [try offset(of: #"data: {"choices":[{"index":0,"delta":{"content":"Hello"#) + 5]),
            ("inside é and twice inside 😀", [emoji + 1, emoji + 3, emoji + 4]),
            ("inside [DONE]", [try offset(of: "[DONE]") + 3]),
            ("inside the byte order mark", [1, 2]),
            ("between the two data lines of one event", [try offset(of: #"data: {"content":"ü"#)]),
        ]
        for (place, cuts) in cases {
            let (reads, times) = split(bytes, at: cuts)
            let transcript = await transcriptOfSink(reads: reads, receivedAt: times)
            #expect(withoutEndStamp(transcript) == expectedTranscript(stream, cuts: cuts), "split \(place) at \(cuts)")
        }
    }

    @Test("random multi-way splits agree with the stream path's parser, stamps included")
    func randomSplitsMatchTheStreamPath() async {
        var generator = SeededGenerator(seed: 20_240_611)
        for terminateDone in [true, false] {
            let stream = realisticStream(terminateDone: terminateDone)
            for trial in 0..<300 {
                let cutCount = Int(generator.next() % 12) + 1
                let cuts = Set((0..<cutCount).map { _ in Int(generator.next() % UInt64(stream.bytes.count)) }).sorted()
                let (reads, times) = split(stream.bytes, at: cuts)
                let fast = await transcriptOfSink(reads: reads, receivedAt: times)
                let slow = transcriptOfInterpreter(reads: reads, receivedAt: times)
                #expect(withoutEndStamp(fast) == expectedTranscript(stream, cuts: cuts),
                        "trial \(trial), cuts \(cuts), [DONE] terminated: \(terminateDone)")
                #expect(withoutEndStamp(fast) == slow, "trial \(trial): the two paths disagree at cuts \(cuts)")
            }
        }
    }

    @Test("a last event without its blank line still counts: [DONE] and the usage are not lost")
    func unterminatedLastEvent() async {
        let stream = realisticStream(terminateDone: false)
        for position in stride(from: stream.bytes.count - 14, through: stream.bytes.count, by: 1) {
            let (reads, times) = split(stream.bytes, at: [position])
            let transcript = await transcriptOfSink(reads: reads, receivedAt: times)
            #expect(withoutEndStamp(transcript) == expectedTranscript(stream, cuts: [position]), "split at \(position)")
        }
    }

    @Test("a stream cut off before [DONE] and any finish reason is a disconnect, chunks kept")
    func truncatedIsDisconnect() async {
        let stream = realisticStream()
        let cut = stream.contentDispatchOffsets[2] + 2
        let transcript = await transcriptOfSink(reads: [Array(stream.bytes[..<cut])], receivedAt: [5])
        #expect(transcript.chunkTimes == [5, 5, 5])
        guard case .disconnected? = transcript.failure else {
            Issue.record("expected a disconnect, got \(String(describing: transcript.failure))")
            return
        }
    }

    @Test("an in-stream error with HTTP 200 fails the transcript in both of its shapes")
    func inStreamErrors() async {
        let chunk = #"data: {"choices":[{"delta":{"content":"x"}}]}"# + "\n\n"
        let openAI = chunk + #"data: {"error":{"message":"overloaded","type":"server_error","code":429}}"# + "\n\n"
        let tgi = chunk + #"data:{"error":"Request failed during generation: CUDA out of memory","error_type":"generation"}"# + "\n\n"
        let first = await transcriptOfSink(reads: [Array(openAI.utf8)], receivedAt: [1])
        #expect(first.failure == .inStream(code: 429, message: "overloaded"))
        #expect(first.chunkTimes == [1])
        let second = await transcriptOfSink(reads: [Array(tgi.utf8)], receivedAt: [1])
        #expect(second.failure == .inStream(code: nil, message: "Request failed during generation: CUDA out of memory"))
        #expect(second.failure.map(RequestFailure.init)?.code == RequestFailure.inStreamCodeWhenServerGaveNone)
        // The sink refuses further bytes: nothing after the error is counted.
        #expect(!first.cancelled && !second.cancelled)
    }

    @Test("a malformed chunk fails the transcript as malformed, with the bytes in the message")
    func malformedChunk() async {
        let body = #"data: {"choices":[{"delta":{"content":"x"}}]}"# + "\n\n"
            + #"data: {"choices":[{"delta":{"content":"y"}"# + "\n\n"
            + #"data: {"choices":[{"delta":{"content":"z"}}]}"# + "\n\n" + "data: [DONE]\n\n"
        let transcript = await transcriptOfSink(reads: [Array(body.utf8)], receivedAt: [1])
        #expect(transcript.chunkTimes == [1])
        guard case .malformed(let detail)? = transcript.failure else {
            Issue.record("expected a malformed-stream failure, got \(String(describing: transcript.failure))")
            return
        }
        #expect(detail.contains(#"{"choices":[{"delta":{"content":"y"}"#))
    }

    @Test("a non-2xx status keeps the error body as the failure's text")
    func httpStatusBody() async {
        let body = Array(#"{"error":"Model is overloaded","error_type":"overloaded"}"#.utf8)
        let transcript = await transcriptOfSink(reads: [Array(body[..<10]), Array(body[10...])], receivedAt: [1, 2],
                                                status: 503)
        #expect(transcript.failure == .httpStatus(code: 503, body: String(decoding: body, as: UTF8.self)))
        #expect(transcript.chunkTimes.isEmpty)
    }
}

private func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
        return start
    }
    return nil
}
