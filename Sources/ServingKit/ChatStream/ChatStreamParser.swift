import CellbookHTTP

/// Reads an OpenAI/TGI chat stream's body: SSE framing (CellbookHTTP's `SSEDataScanner`), then
/// each `data:` payload (a `chat.completion.chunk`, the usage chunk, `[DONE]`, or an error
/// event). The one interpretation of a chat stream, whatever carried the bytes: the HTTP body
/// of `/v1/chat/completions`, or the `PayloadPart`s of SageMaker's response stream, where SSE
/// lines may be split across parts.
///
/// Two ways to take the result: as a transcript (chunk times and counts only; no String per
/// token: the load generator's hot path) or as events with the text (the chat cell).
/// One instance per response; used by one thread at a time.
public final class ChatStreamParser: @unchecked Sendable {
    public private(set) var sawDone = false
    public private(set) var sawFinish = false
    private var scanner = SSEDataScanner()

    public init() {}

    /// Feeds body bytes (transfer coding undone) stamped `receivedAt`, recording content chunk
    /// times, finish reason and usage into `transcript`. Returns the content chunks it added.
    @discardableResult
    public func feed(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64,
                     into transcript: inout CompletionTranscript) throws(CompletionStreamError) -> Int {
        var added = 0
        try scan { scanner in
            try scanner.feed(bytes) { payload in
                if try self.record(payload, receivedAt: receivedAt, into: &transcript) { added += 1 }
            }
        }
        return added
    }

    /// Feeds body bytes, appending what they complete as events with decoded text.
    public func feed(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64,
                     into events: inout [CompletionStreamEvent]) throws(CompletionStreamError) {
        try scan { scanner in
            try scanner.feed(bytes) { payload in try self.emit(payload, receivedAt: receivedAt, into: &events) }
        }
    }

    /// Ends the body: a last event without its blank line still counts. Throws `.disconnected`
    /// when the server never said the answer was complete.
    public func finish(receivedAt: UInt64, into transcript: inout CompletionTranscript) throws(CompletionStreamError) {
        try scan { scanner in
            try scanner.finish { payload in _ = try self.record(payload, receivedAt: receivedAt, into: &transcript) }
        }
        try requireEnd()
    }

    public func finish(receivedAt: UInt64, into events: inout [CompletionStreamEvent]) throws(CompletionStreamError) {
        try scan { scanner in
            try scanner.finish { payload in try self.emit(payload, receivedAt: receivedAt, into: &events) }
        }
        try requireEnd()
    }

    private func requireEnd() throws(CompletionStreamError) {
        guard sawDone || sawFinish else {
            throw .disconnected(detail: "the stream ended without [DONE] or a finish_reason")
        }
    }

    /// Runs the scanner with its errors typed (the scanner rethrows what the payload handler throws).
    private func scan(_ body: (inout SSEDataScanner) throws -> Void) throws(CompletionStreamError) {
        do {
            try body(&scanner)
        } catch let error as CompletionStreamError {
            throw error
        } catch {
            throw .malformed(detail: "\(error)")
        }
    }

    /// The payload without surrounding whitespace; nil when blank or `[DONE]` (which it notes).
    private func trimmed(_ data: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var start = 0
        var end = data.count
        while start < end, data[start] == 0x20 || data[start] == 0x0A || data[start] == 0x0D { start += 1 }
        while end > start, data[end - 1] == 0x20 || data[end - 1] == 0x0A || data[end - 1] == 0x0D { end -= 1 }
        if start == end { return nil }
        let payload = UnsafeBufferPointer(rebasing: data[start..<end])
        if payload.elementsEqual("[DONE]".utf8) {
            sawDone = true
            return nil
        }
        return payload
    }

    /// One walk over the chunk; an error event ends the stream with its message.
    private func scanChunk(_ payload: UnsafeBufferPointer<UInt8>) throws(CompletionStreamError) -> RawChatChunk {
        let raw = try ChatChunkScanner.scanRaw(payload)
        if raw.errorOffset != nil {
            var fields = ChatChunkFields()
            do { try raw.decodeError(into: &fields) } catch { throw ChatChunkScanner.malformed(payload, error) }
            if let message = fields.errorMessage { throw .inStream(code: fields.errorCode, message: message) }
        }
        if raw.finishReason != nil { sawFinish = true }
        return raw
    }

    private func record(_ data: UnsafeBufferPointer<UInt8>, receivedAt: UInt64,
                        into transcript: inout CompletionTranscript) throws(CompletionStreamError) -> Bool {
        guard let payload = trimmed(data) else { return false }
        let raw = try scanChunk(payload)
        var isContent = false
        if let content = raw.content, !content.range.isEmpty {
            transcript.chunkTimes.append(receivedAt)
            isContent = true
        }
        if let reason = raw.finishReason {
            do { transcript.finishReason = try raw.decode(reason) } catch { throw ChatChunkScanner.malformed(payload, error) }
        }
        if let prompt = raw.promptTokens { transcript.promptTokens = prompt }
        if let completion = raw.completionTokens { transcript.completionTokens = completion }
        return isContent
    }

    private func emit(_ data: UnsafeBufferPointer<UInt8>, receivedAt: UInt64,
                      into events: inout [CompletionStreamEvent]) throws(CompletionStreamError) {
        guard let payload = trimmed(data) else { return }
        let raw = try scanChunk(payload)
        do {
            if let content = raw.content, !content.range.isEmpty {
                events.append(.chunk(TokenChunk(text: try raw.decode(content), receivedAt: receivedAt)))
            }
            if let reason = raw.finishReason { events.append(.finish(reason: try raw.decode(reason))) }
        } catch {
            throw ChatChunkScanner.malformed(payload, error)
        }
        if raw.promptTokens != nil || raw.completionTokens != nil {
            events.append(.usage(promptTokens: raw.promptTokens, completionTokens: raw.completionTokens))
        }
    }
}
