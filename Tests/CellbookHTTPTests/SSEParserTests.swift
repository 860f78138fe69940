import CellbookHTTP
import Testing

/// Parses `chunks` in order, stamping chunk k with k + 1, then finishes.
private func parse(_ chunks: [[UInt8]], finish: Bool = false) -> [SSEEvent] {
    var parser = SSEParser()
    var events: [SSEEvent] = []
    for (index, chunk) in chunks.enumerated() {
        events += parser.feed(chunk, receivedAt: UInt64(index + 1))
    }
    if finish { events += parser.finish() }
    return events
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Events without their timestamps, which depend on how the input was split.
private func withoutTimes(_ events: [SSEEvent]) -> [SSEEvent] {
    events.map { SSEEvent(event: $0.event, data: $0.data, id: $0.id, receivedAt: 0) }
}

/// A stream that uses every feature at once: comments, CRLF and lone CR,
/// `data:` with and without the space, multi-line data, event and id fields,
/// multi-byte UTF-8, a byte order mark, and the [DONE] sentinel.
private let mixedStream: [UInt8] =
    [0xEF, 0xBB, 0xBF]
    + bytes(
        ": keep-alive\r\n"
            + "data: {\"a\": \"caf\u{E9} \u{1F600}\"}\r\n\r\n"
            + "data:no-space\n\n"
            + "event: update\rid: 42\rdata: first\rdata:  second keeps one space\r\r"
            + "data: third\n"
            + ":comment between lines\n"
            + "data: \n\n"
            + "event: ignored-without-data\n\n"
            + "data: [DONE]\n\n")

private let mixedExpected: [SSEEvent] = [
    SSEEvent(data: "{\"a\": \"caf\u{E9} \u{1F600}\"}"),
    SSEEvent(data: "no-space"),
    SSEEvent(event: "update", data: "first\n second keeps one space", id: "42"),
    SSEEvent(data: "third\n", id: "42"),
    SSEEvent(data: "[DONE]", id: "42"),
]

@Suite("SSEParser")
struct SSEParserTests {
    @Test("the whole stream in one read gives every event")
    func wholeStream() {
        #expect(withoutTimes(parse([mixedStream])) == mixedExpected)
    }

    @Test("every split point gives the same events")
    func everySplitPoint() {
        for split in 0...mixedStream.count {
            let events = parse([Array(mixedStream[..<split]), Array(mixedStream[split...])])
            #expect(withoutTimes(events) == mixedExpected, "split at byte \(split)")
        }
    }

    @Test("every pair of split points gives the same events")
    func everyPairOfSplitPoints() {
        var failures: [String] = []
        for first in 0...mixedStream.count {
            for second in first...mixedStream.count {
                let events = parse([
                    Array(mixedStream[..<first]), Array(mixedStream[first..<second]), Array(mixedStream[second...]),
                ])
                if withoutTimes(events) != mixedExpected { failures.append("\(first),\(second)") }
            }
        }
        #expect(failures.isEmpty, "splits that broke parsing: \(failures.prefix(10))")
    }

    @Test("byte-by-byte reads give the same events")
    func byteByByte() {
        #expect(withoutTimes(parse(mixedStream.map { [$0] })) == mixedExpected)
    }

    @Test("an event carries the timestamp of the chunk that completed it")
    func timestampOfCompletingChunk() {
        let events = parse([bytes("data: a"), bytes("bc\n"), bytes("\ndata: second\n\ndata: thi"), bytes("rd\n\n")])
        #expect(events.map(\.data) == ["abc", "second", "third"])
        #expect(events.map(\.receivedAt) == [3, 3, 4])
    }

    @Test("several events in one read are all returned, in order")
    func mergedEvents() {
        let events = parse([bytes("data: 1\n\ndata: 2\n\ndata: 3\n\n")])
        #expect(events.map(\.data) == ["1", "2", "3"])
    }

    @Test("\\r at the end of one read and \\n at the start of the next are one line ending")
    func crlfAcrossReads() {
        // Were they two line endings, the "\n" would be a blank line and dispatch "a" alone.
        let events = parse([bytes("data: a\r"), bytes("\ndata: b\r"), bytes("\n\r"), bytes("\n")])
        #expect(events.map(\.data) == ["a\nb"])
    }

    @Test("lone \\r ends lines")
    func loneCarriageReturn() {
        #expect(parse([bytes("data: x\r\rdata: y\r\r")]).map(\.data) == ["x", "y"])
    }

    @Test("comments and keep-alives dispatch nothing")
    func comments() {
        #expect(parse([bytes(": ping\n\n:\n\n: another\n")]).isEmpty)
        #expect(parse([bytes(":ping\ndata: real\n: inside\n\n")]).map(\.data) == ["real"])
    }

    @Test("data: with and without the space, and only one space removed")
    func dataSpacing() {
        let events = parse([bytes("data:{\"x\":1}\n\ndata: {\"x\":2}\n\ndata:  two\n\ndata\n\n")])
        #expect(events.map(\.data) == ["{\"x\":1}", "{\"x\":2}", " two", ""])
    }

    @Test("a UTF-8 character split across reads decodes whole")
    func utf8AcrossReads() {
        let text = bytes("data: \u{1F600}\u{E9}\n\n")
        for split in 0...text.count {
            let events = parse([Array(text[..<split]), Array(text[split...])])
            #expect(events.map(\.data) == ["\u{1F600}\u{E9}"], "split at byte \(split)")
        }
    }

    @Test("event and id fields; the id carries over; an event with no data is not dispatched")
    func eventAndID() {
        let events = parse([bytes("event: a\nid: 1\ndata: x\n\ndata: y\n\nevent: b\n\nid\ndata: z\n\n")])
        #expect(events == [
            SSEEvent(event: "a", data: "x", id: "1", receivedAt: 1),
            SSEEvent(event: "message", data: "y", id: "1", receivedAt: 1),
            SSEEvent(event: "message", data: "z", id: "", receivedAt: 1),
        ])
    }

    @Test("[DONE] arrives as an ordinary event")
    func doneSentinel() {
        let events = parse([bytes("data: {\"t\":1}\n\ndata: [DONE]\n\n")])
        #expect(events.last?.data == "[DONE]")
    }

    @Test("retry: is recorded, other fields are ignored")
    func retryAndUnknownFields() {
        var parser = SSEParser()
        let events = parser.feed(bytes("retry: 2500\nfoo: bar\ndata: x\n\n"), receivedAt: 1)
        #expect(events.map(\.data) == ["x"])
        #expect(parser.retryMilliseconds == 2500)
    }

    @Test("finish() dispatches an event whose closing blank line never came")
    func finishFlushesUnterminatedEvent() {
        #expect(parse([bytes("data: [DONE]")], finish: true).map(\.data) == ["[DONE]"])
        #expect(parse([bytes("data: a\ndata: b\n")], finish: true).map(\.data) == ["a\nb"])
        #expect(parse([bytes("data: a\n\n")], finish: true).map(\.data) == ["a"])
        #expect(parse([bytes(": only a comment")], finish: true).isEmpty)
    }

    @Test("collections without contiguous storage parse the same")
    func nonContiguousInput() {
        var parser = SSEParser()
        let lazyBytes = mixedStream.lazy.map { $0 }
        #expect(withoutTimes(parser.feed(lazyBytes, receivedAt: 1)) == mixedExpected)
    }
}
