import CellbookHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams chat completions from an OpenAI-compatible `/v1/chat/completions` endpoint
/// (TGI's Messages API, vLLM, llama.cpp's llama-server, llama-cpp-python) over CellbookHTTP.
///
/// The body is llmperf's: an empty system message, the prompt as the user message,
/// `stream: true`, then the sampling params (`max_tokens` and any additional ones) merged over.
/// Chunk times are CellbookHTTP's receive stamps, taken when libcurl delivered the bytes.
public struct OpenAIChatTransport: ChatStreamTransport {
    public let client: HTTPClient
    /// The full URL, e.g. `http://127.0.0.1:8080/v1/chat/completions`.
    public let url: String
    /// Extra request headers (e.g. `Authorization`).
    public var headers: [String: String]
    /// Ask for a final usage chunk (`stream_options.include_usage`), so token counts come from
    /// the server. Turn off for servers that reject the field.
    public var includeUsage: Bool
    /// llmperf sends `{"role": "system", "content": ""}` first; nil sends only the user message.
    public var systemMessage: String?

    public init(client: HTTPClient, url: String, headers: [String: String] = [:],
                includeUsage: Bool = true, systemMessage: String? = "") {
        self.client = client
        self.url = url
        self.headers = headers
        self.includeUsage = includeUsage
        self.systemMessage = systemMessage
    }

    /// The request body as sent, fields in llmperf's order.
    public func body(for request: CompletionRequest) -> JSONObject {
        var messages: [JSONValue] = []
        if let systemMessage {
            messages.append(.object(["role": .string("system"), "content": .string(systemMessage)]))
        }
        messages.append(.object(["role": .string("user"), "content": .string(request.prompt)]))
        var body = JSONObject()
        body["model"] = .string(request.model)
        body["messages"] = .array(messages)
        body["stream"] = .bool(true)
        if includeUsage { body["stream_options"] = .object(["include_usage": .bool(true)]) }
        if request.samplingParams["max_tokens"] == nil { body["max_tokens"] = .int(request.maxTokens) }
        body.merge(request.samplingParams)
        return body
    }

    public func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        let http = client.stream(httpRequest(for: request))
        let reader = SSEChatStreamReader(events: http, url: url)
        // Unfolding runs the reader on the consuming task: one hop per network read, no relay task.
        return AsyncThrowingStream(unfolding: { try await reader.next() })
    }

    /// Runs one completion with its SSE parsed on the HTTP client's event-loop thread as the
    /// bytes arrive; only the finished transcript crosses into Swift concurrency, one resumption
    /// per request instead of one per network read. Chunk times are libcurl's receive stamps.
    /// Cancelling the calling task aborts the transfer; the transcript then has what came so far.
    public func transcript(_ request: CompletionRequest,
                           progress: (@Sendable (Int) -> Void)? = nil) async -> CompletionTranscript {
        let sink = ChatTranscriptSink(url: url, expectedChunks: request.maxTokens + 1, progress: progress)
        let handle = client.stream(httpRequest(for: request), to: sink)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { sink.deliver(to: $0) }
        } onCancel: {
            handle.cancel()
        }
    }

    private func httpRequest(for request: CompletionRequest) -> HTTPRequest {
        var allHeaders = ["Content-Type": "application/json", "Accept": "text/event-stream",
                          "X-Request-Id": request.requestID]
        allHeaders.merge(headers) { _, caller in caller }
        let bytes = Array(JSONValue.object(body(for: request)).serialized().utf8)
        return HTTPRequest(method: "POST", url: url, headers: allHeaders, body: bytes)
    }
}

/// What one streamed completion produced, gathered as it streamed and handed over at its end.
public struct CompletionTranscript: Sendable, Equatable {
    /// Receive times (CLOCK_MONOTONIC ns) of the content-bearing chunks, in order.
    public var chunkTimes: [UInt64]
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// The last `finish_reason` the stream gave.
    public var finishReason: String?
    /// Why the request failed; nil when the answer is complete or the transfer was cancelled.
    public var failure: CompletionStreamError?
    /// The transfer was stopped by cancellation before it ended by itself.
    public var cancelled: Bool
    /// When the transfer ended (CLOCK_MONOTONIC ns), taken where it ended rather than when a
    /// task got round to it.
    public var endedAt: UInt64

    public init(chunkTimes: [UInt64] = [], promptTokens: Int? = nil, completionTokens: Int? = nil,
                finishReason: String? = nil, failure: CompletionStreamError? = nil, cancelled: Bool = false,
                endedAt: UInt64 = 0) {
        self.endedAt = endedAt
        self.chunkTimes = chunkTimes
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.finishReason = finishReason
        self.failure = failure
        self.cancelled = cancelled
    }
}

/// A transport that can run a whole completion and report it once at the end, which costs far
/// less than an event per chunk. `LoadTest` uses it when the transport offers it.
public protocol ChatTranscriptTransport: ChatStreamTransport {
    /// Runs the completion. `progress`, when given, is called with counts of content chunks
    /// as they arrive (batched, from any thread; keep it quick).
    func transcript(_ request: CompletionRequest, progress: (@Sendable (Int) -> Void)?) async -> CompletionTranscript
}

extension OpenAIChatTransport: ChatTranscriptTransport {}

extension OpenAIChatTransport {
    public func readStatistics() -> HTTPReadStatistics? { client.readStatistics }
}

/// Follows one chat completion on the HTTP event-loop thread: SSE framing, chunk scanning and
/// the timeline all happen as each read arrives, with no allocation per chunk once warmed up.
///
/// Threading: `receiveHead`, `receiveBody` and `finish` run on the loop thread one at a time
/// (HTTPStreamSink's contract), so the parsing state needs no lock; only the hand-over of the
/// transcript to the waiting task, which may come before or after `finish`, takes one.
final class ChatTranscriptSink: HTTPStreamSink, @unchecked Sendable {
    /// Progress counts are flushed every 50 ms of stream time rather than per chunk.
    private static let progressIntervalNs: UInt64 = 50_000_000

    private let url: String
    private let progress: (@Sendable (Int) -> Void)?
    private var transcript = CompletionTranscript()
    private var events = SSEDataScanner()
    /// Set when the head says the body is chunked: the sink takes bodies raw (one call per
    /// network read rather than per chunk) and undoes the framing itself.
    private var chunked: ChunkedDecoder?
    private var sawHead = false
    private var sawDone = false
    private var sawFinish = false
    /// Set for a non-2xx head: the body is kept (up to the limit) as the error's text.
    private var errorStatus: Int?
    private var errorBody: [UInt8] = []
    private var unreported = 0
    private var reportedAt: UInt64 = 0
    private var lastReceivedAt: UInt64 = 0

    private let handOver = Locked(HandOver.waiting)
    private enum HandOver {
        case waiting
        case ready(CompletionTranscript)
        case awaited(CheckedContinuation<CompletionTranscript, Never>)
        case delivered
    }

    init(url: String, expectedChunks: Int, progress: (@Sendable (Int) -> Void)?) {
        self.url = url
        self.progress = progress
        transcript.chunkTimes.reserveCapacity(max(0, min(expectedChunks, 1 << 20)))
    }

    /// Resumes `continuation` with the transcript, now or when the transfer finishes.
    func deliver(to continuation: CheckedContinuation<CompletionTranscript, Never>) {
        let ready: CompletionTranscript? = handOver.withLock { state in
            if case .ready(let transcript) = state {
                state = .delivered
                return transcript
            }
            state = .awaited(continuation)
            return nil
        }
        if let ready { continuation.resume(returning: ready) }
    }

    var wantsRawTransferCoding: Bool { true }

    func receiveHead(status: Int, headers: [String: String]) -> Bool {
        sawHead = true
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true { chunked = ChunkedDecoder() }
        if !(200..<300).contains(status) { errorStatus = status }
        return true
    }

    func receiveBody(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> Bool {
        lastReceivedAt = receivedAt
        do throws(CompletionStreamError) {
            guard chunked != nil else { return try receiveData(bytes, receivedAt: receivedAt) }
            var more = true
            let framed = try chunked!.decode(bytes) { (data) throws(CompletionStreamError) in
                if more { more = try receiveData(data, receivedAt: receivedAt) }
            }
            guard framed else { throw .malformed(detail: "broken chunked transfer coding: \(chunked?.problem ?? "")") }
            return more
        } catch {
            transcript.failure = error
            return false
        }
    }

    /// Body bytes with any transfer coding undone; false once an error body has been kept
    /// up to its limit (the rest is not worth reading).
    private func receiveData(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) throws(CompletionStreamError) -> Bool {
        if errorStatus != nil {
            errorBody.append(contentsOf: bytes.prefix(errorBodyLimit - errorBody.count))
            return errorBody.count < errorBodyLimit
        }
        try events.feed(bytes) { (payload) throws(CompletionStreamError) in
            try interpret(payload, receivedAt: receivedAt)
        }
        return true
    }

    func finish(_ end: HTTPStreamEnd) {
        transcript.endedAt = MonotonicClock.nanoseconds()
        if let status = errorStatus {
            let text = String(decoding: errorBody, as: UTF8.self).trimmingWhitespace
            transcript.failure = .httpStatus(code: status, body: text)
        } else if transcript.failure == nil {
            switch end {
            case .completed:
                do {
                    try events.finish { (payload) throws(CompletionStreamError) in
                        try interpret(payload, receivedAt: lastReceivedAt)
                    }
                    if !sawDone && !sawFinish {
                        transcript.failure = .disconnected(detail: "the stream ended without [DONE] or a finish_reason")
                    }
                } catch {
                    transcript.failure = error
                }
            case .failed(let error):
                transcript.failure = CompletionStreamError(error, afterHead: sawHead)
            case .cancelled:
                transcript.cancelled = true
            }
        }
        if unreported > 0 { progress?(unreported) }
        let result = transcript
        let waiting: CheckedContinuation<CompletionTranscript, Never>? = handOver.withLock { state in
            if case .awaited(let continuation) = state {
                state = .delivered
                return continuation
            }
            state = .ready(result)
            return nil
        }
        waiting?.resume(returning: result)
    }

    private func interpret(_ data: UnsafeBufferPointer<UInt8>, receivedAt: UInt64) throws(CompletionStreamError) {
        var start = 0
        var end = data.count
        while start < end, data[start] == 0x20 || data[start] == 0x0A || data[start] == 0x0D { start += 1 }
        while end > start, data[end - 1] == 0x20 || data[end - 1] == 0x0A || data[end - 1] == 0x0D { end -= 1 }
        if start == end { return }
        let payload = UnsafeBufferPointer(rebasing: data[start..<end])
        if payload.elementsEqual("[DONE]".utf8) {
            sawDone = true
            return
        }
        let raw = try ChatChunkScanner.scanRaw(payload)
        if raw.errorOffset != nil {
            var fields = ChatChunkFields()
            do { try raw.decodeError(into: &fields) } catch { throw ChatChunkScanner.malformed(payload, error) }
            if let message = fields.errorMessage { throw .inStream(code: fields.errorCode, message: message) }
        }
        if let content = raw.content, !content.range.isEmpty {
            transcript.chunkTimes.append(receivedAt)
            if progress != nil {
                unreported += 1
                if receivedAt &- reportedAt >= Self.progressIntervalNs {
                    progress?(unreported)
                    unreported = 0
                    reportedAt = receivedAt
                }
            }
        }
        if let reason = raw.finishReason {
            sawFinish = true
            do { transcript.finishReason = try raw.decode(reason) } catch { throw ChatChunkScanner.malformed(payload, error) }
        }
        if let prompt = raw.promptTokens { transcript.promptTokens = prompt }
        if let completion = raw.completionTokens { transcript.completionTokens = completion }
    }
}

/// How much of an error response's body is kept as the error's text.
private let errorBodyLimit = 16 * 1024

extension CompletionStreamError {
    /// A transfer failure seen by either chat path: cut after the response head began means the
    /// stream was disconnected; before it, the server could not be reached.
    init(_ error: HTTPError, afterHead: Bool) {
        switch error {
        case .transferFailed(_, let code, let detail) where afterHead:
            self = .disconnected(detail: "\(detail) (libcurl error \(code))")
        case .connectionRefused, .couldNotResolveHost, .timedOut, .transferFailed, .invalidRequest, .clientUnavailable:
            self = .connection(detail: error.description)
        }
    }
}

/// Pulls the data of each server-sent event out of body bytes as they come, without building
/// Strings: the same framing rules as CellbookHTTP's `SSEParser` (lines end with "\n", "\r\n" or
/// "\r", chunks split anywhere, comments, a leading byte order mark, `data:` with or without a
/// space, a blank line dispatches, an unterminated last event is dispatched at the end).
/// Fields other than `data` do not matter to a chat stream and are skipped.
///
/// It runs for every read of every stream, so line ends are found with memchr, and an event
/// whose one data line lies within a single read is handed over in place, uncopied.
struct SSEDataScanner {
    typealias Dispatch = (UnsafeBufferPointer<UInt8>) throws(CompletionStreamError) -> Void

    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")

    /// Bytes of a line not yet ended, carried to the next read.
    private var partialLine: [UInt8] = []
    /// The data lines of the event being built, joined with "\n", once they had to be copied.
    private var data: [UInt8] = []
    /// The event's only data line so far, still in the caller's buffer (valid during `feed`).
    private var inPlace: UnsafeBufferPointer<UInt8>?
    private var hasData = false
    private var skipLeadingLF = false
    private var atStreamStart = true

    init() {
        partialLine.reserveCapacity(512)
        data.reserveCapacity(512)
    }

    /// Scans a read; `dispatch` gets the data of each event it completes (valid during the call).
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ dispatch: Dispatch) throws(CompletionStreamError) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return }
        let buffer = UnsafeBufferPointer(start: base, count: bytes.count)
        let count = buffer.count
        defer { keepInPlaceData() }
        var index = 0
        if skipLeadingLF {
            skipLeadingLF = false
            if buffer[0] == Self.lf { index = 1 }
        }
        // Servers end lines with "\n"; a read without any "\r" can be split on "\n" alone.
        let plainLF = memchr(base + index, Int32(Self.cr), count - index) == nil
        var lineStart = index
        while index < count {
            let lineEnd: Int
            if plainLF {
                guard let found = memchr(base + index, Int32(Self.lf), count - index) else { break }
                lineEnd = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
            } else {
                var cursor = index
                while cursor < count, buffer[cursor] != Self.lf, buffer[cursor] != Self.cr { cursor += 1 }
                if cursor == count { break }
                lineEnd = cursor
            }
            let line = UnsafeBufferPointer(rebasing: buffer[lineStart..<lineEnd])
            if partialLine.isEmpty {
                try processLine(line, inReadBuffer: true, dispatch)
            } else {
                partialLine.append(contentsOf: line)
                var carried: [UInt8] = []
                swap(&carried, &partialLine)
                defer {
                    carried.removeAll(keepingCapacity: true)
                    swap(&carried, &partialLine)
                }
                try carried.withUnsafeBufferPointer { (whole) throws(CompletionStreamError) in
                    try processLine(whole, inReadBuffer: false, dispatch)
                }
            }
            index = lineEnd + 1
            if buffer[lineEnd] == Self.cr {
                if index < count {
                    if buffer[index] == Self.lf { index += 1 }
                } else {
                    skipLeadingLF = true
                }
            }
            lineStart = index
        }
        if lineStart < count {
            partialLine.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[lineStart..<count]))
        }
    }

    /// Ends the stream: a last line without its line ending and an event without its closing
    /// blank line are dispatched rather than dropped (servers that close right after their last
    /// `data:` line would otherwise lose `[DONE]` or the usage chunk).
    mutating func finish(_ dispatch: Dispatch) throws(CompletionStreamError) {
        if !partialLine.isEmpty {
            let last = partialLine
            partialLine.removeAll()
            try last.withUnsafeBufferPointer { (whole) throws(CompletionStreamError) in
                try processLine(whole, inReadBuffer: false, dispatch)
            }
        }
        try dispatchEvent(dispatch)
    }

    /// The read buffer is about to go: data still pointing into it is copied.
    private mutating func keepInPlaceData() {
        if let pending = inPlace {
            data.append(contentsOf: pending)
            inPlace = nil
        }
    }

    private mutating func processLine(_ raw: UnsafeBufferPointer<UInt8>, inReadBuffer: Bool,
                                      _ dispatch: Dispatch) throws(CompletionStreamError) {
        var line = raw[...]
        if atStreamStart {
            atStreamStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }  // byte order mark
        }
        if line.isEmpty {
            try dispatchEvent(dispatch)
            return
        }
        // "data:" or a bare "data" line; anything else (comments, event:, id:, retry:) is skipped.
        let start = line.startIndex
        guard line.count >= 4, raw[start] == UInt8(ascii: "d"), raw[start + 1] == UInt8(ascii: "a"),
              raw[start + 2] == UInt8(ascii: "t"), raw[start + 3] == UInt8(ascii: "a") else { return }
        var value = line.dropFirst(4)
        if let first = value.first {
            guard first == UInt8(ascii: ":") else { return }  // "database: ..." is another field
            value = value.dropFirst()
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        }
        if !hasData && inReadBuffer {
            inPlace = UnsafeBufferPointer(rebasing: value)
        } else {
            keepInPlaceData()
            if hasData { data.append(Self.lf) }
            data.append(contentsOf: value)
        }
        hasData = true
    }

    private mutating func dispatchEvent(_ dispatch: Dispatch) throws(CompletionStreamError) {
        guard hasData else { return }
        hasData = false
        if let pending = inPlace {
            inPlace = nil
            try dispatch(pending)
            return
        }
        defer { data.removeAll(keepingCapacity: true) }
        try data.withUnsafeBufferPointer { (payload) throws(CompletionStreamError) in try dispatch(payload) }
    }
}

/// Interprets the SSE payloads of an OpenAI chat stream: `data: {chunk}` events, an optional
/// usage chunk, `[DONE]`, or an error event. Independent of how the bytes arrive, so a
/// SageMaker transport (event-stream `PayloadPart`s carrying the same SSE lines) can reuse it.
public struct ChatStreamInterpreter: Sendable {
    public private(set) var sawDone = false
    public private(set) var sawFinish = false
    private var parser = SSEParser()

    public init() {}

    /// Feeds body bytes; returns the events they complete. Throws on an in-stream error event.
    public mutating func feed(_ bytes: [UInt8], receivedAt: UInt64) throws(CompletionStreamError) -> [CompletionStreamEvent] {
        var events: [CompletionStreamEvent] = []
        try feed(bytes, receivedAt: receivedAt, into: &events)
        return events
    }

    /// As `feed(_:receivedAt:)`, appending to a buffer the caller reuses.
    public mutating func feed(_ bytes: [UInt8], receivedAt: UInt64,
                              into events: inout [CompletionStreamEvent]) throws(CompletionStreamError) {
        try interpret(parser.feed(bytes, receivedAt: receivedAt), into: &events)
    }

    /// Ends the byte stream; throws `.disconnected` if the server never said it was done.
    public mutating func finish() throws(CompletionStreamError) -> [CompletionStreamEvent] {
        var events: [CompletionStreamEvent] = []
        try interpret(parser.finish(), into: &events)
        guard sawDone || sawFinish else {
            throw .disconnected(detail: "the stream ended without [DONE] or a finish_reason")
        }
        return events
    }

    private mutating func interpret(_ sse: [SSEEvent], into events: inout [CompletionStreamEvent]) throws(CompletionStreamError) {
        for event in sse {
            var data = event.data
            // withUTF8 rethrows untyped errors, so the typed error travels in a Result.
            let outcome = data.withUTF8 { buffer in Result { () throws(CompletionStreamError) -> ChatChunkFields? in
                var start = 0
                var end = buffer.count
                while start < end, buffer[start] == 0x20 || buffer[start] == 0x0A || buffer[start] == 0x0D { start += 1 }
                while end > start, buffer[end - 1] == 0x20 || buffer[end - 1] == 0x0A || buffer[end - 1] == 0x0D { end -= 1 }
                if start == end { return nil }
                let payload = UnsafeBufferPointer(rebasing: buffer[start..<end])
                if payload.elementsEqual("[DONE]".utf8) { return ChatChunkFields(finishReason: "[DONE]") }
                return try ChatChunkScanner.scan(payload)
            } }
            guard let fields = try outcome.get() else { continue }
            if fields.finishReason == "[DONE]" && fields.content == nil && fields.errorMessage == nil {
                sawDone = true
                continue
            }
            if let message = fields.errorMessage {
                throw .inStream(code: fields.errorCode, message: message)
            }
            if let content = fields.content, !content.isEmpty {
                events.append(.chunk(TokenChunk(text: content, receivedAt: event.receivedAt)))
            }
            if let reason = fields.finishReason {
                sawFinish = true
                events.append(.finish(reason: reason))
            }
            if fields.promptTokens != nil || fields.completionTokens != nil {
                events.append(.usage(promptTokens: fields.promptTokens, completionTokens: fields.completionTokens))
            }
        }
    }
}

/// Pulls HTTP events and turns them into completion events. `AsyncThrowingStream(unfolding:)`
/// calls `next()` from one task at a time, so the state needs no lock.
final class SSEChatStreamReader: @unchecked Sendable {

    private var events: AsyncThrowingStream<HTTPStreamEvent, Error>.AsyncIterator
    private let url: String
    private var interpreter = ChatStreamInterpreter()
    private var pending: [CompletionStreamEvent] = []
    private var pendingIndex = 0
    private var sawHead = false
    private var ended = false

    init(events: AsyncThrowingStream<HTTPStreamEvent, Error>, url: String) {
        self.events = events.makeAsyncIterator()
        self.url = url
    }

    func next() async throws -> CompletionStreamEvent? {
        while true {
            if pendingIndex < pending.count {
                pendingIndex += 1
                return pending[pendingIndex - 1]
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if ended { return nil }

            let event: HTTPStreamEvent?
            do {
                event = try await events.next()
            } catch let error as HTTPError {
                ended = true
                throw CompletionStreamError(error, afterHead: sawHead)
            }
            guard let event else {
                ended = true
                if Task.isCancelled { return nil }
                pending = try interpreter.finish()
                continue
            }
            switch event {
            case .head(let status, _):
                sawHead = true
                guard (200..<300).contains(status) else {
                    ended = true
                    throw CompletionStreamError.httpStatus(code: status, body: await remainingBody())
                }
                pending = [.responseHead(status: status, receivedAt: RunClock.now())]
            case .body(let bytes, let receivedAt):
                do {
                    try interpreter.feed(bytes, receivedAt: receivedAt, into: &pending)
                } catch {
                    ended = true
                    throw error
                }
            }
        }
    }

    private func remainingBody() async -> String {
        var body: [UInt8] = []
        while body.count < errorBodyLimit, let event = try? await events.next() {
            if case .body(let bytes, _) = event { body += bytes }
        }
        return String(decoding: body.prefix(errorBodyLimit), as: UTF8.self).trimmingWhitespace
    }
}

/// Counts prompt tokens with the server's tokenizer route: llama.cpp's llama-server
/// (`POST /tokenize {"content": ...}` -> `{"tokens": [...]}`) or TGI
/// (`POST /tokenize {"inputs": ...}` -> `[{"id": ..., "text": ...}, ...]`).
public struct ServerTokenizer: PromptTokenCounter {
    public enum Dialect: Sendable { case llamaCpp, tgi }

    public let client: HTTPClient
    /// The full tokenize URL, e.g. `http://127.0.0.1:8080/tokenize`.
    public let url: String
    public let dialect: Dialect

    public init(client: HTTPClient, url: String, dialect: Dialect) {
        self.client = client
        self.url = url
        self.dialect = dialect
    }

    public func countTokens(_ text: String) async throws -> Int {
        let body: JSONObject = dialect == .llamaCpp ? ["content": .string(text)] : ["inputs": .string(text)]
        let response = try await client.send(HTTPRequest(
            method: "POST", url: url, headers: ["Content-Type": "application/json"],
            body: Array(JSONValue.object(body).serialized().utf8)))
        guard response.isSuccess else {
            throw CompletionStreamError.httpStatus(code: response.status, body: String(response.bodyText.prefix(300)))
        }
        let value = try JSONValue.parse(bytes: response.body)
        switch (dialect, value) {
        case (.llamaCpp, .object(let object)):
            if case .array(let tokens)? = object["tokens"] { return tokens.count }
        case (.tgi, .array(let tokens)):
            return tokens.count
        default:
            break
        }
        throw CompletionStreamError.malformed(detail: "\(url) answered \(String(response.bodyText.prefix(200))), not a token list")
    }
}
