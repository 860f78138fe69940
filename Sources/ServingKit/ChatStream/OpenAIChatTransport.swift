import SystemKit
import CellbookHTTP
import CellbookJSON
import Foundation

/// Streams chat completions from an OpenAI-compatible `/v1/chat/completions` endpoint
/// (TGI's Messages API, vLLM, llama.cpp's llama-server, llama-cpp-python) over CellbookHTTP:
/// the fast path, with the SSE body read directly.
public struct OpenAIChatTransport: ChatTranscriptTransport {
    public let client: HTTPClient
    /// The full URL, e.g. `http://127.0.0.1:8080/v1/chat/completions`.
    public let url: String
    /// Extra request headers (e.g. `Authorization`).
    public var headers: [String: String]
    /// Ask for a final usage chunk (`stream_options.include_usage`), so token counts come from
    /// the server. Turn off for servers that reject the field.
    public var includeUsage: Bool

    public init(client: HTTPClient, url: String, headers: [String: String] = [:], includeUsage: Bool = true) {
        self.client = client
        self.url = url
        self.headers = headers
        self.includeUsage = includeUsage
    }

    /// The request body as sent, fields in llmperf's order.
    public func body(for request: CompletionRequest) -> JSONObject {
        request.messagesAPIBody(includeUsage: includeUsage)
    }

    public func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        ChatStreamHTTP.stream(client: client, request: httpRequest(for: request), url: url, framing: nil)
    }

    /// Runs one completion with its SSE parsed on the HTTP client's event-loop thread as the
    /// bytes arrive; only the finished transcript crosses into Swift concurrency.
    public func transcript(_ request: CompletionRequest,
                           progress: (@Sendable (Int) -> Void)? = nil) async -> CompletionTranscript {
        await ChatStreamHTTP.transcript(client: client, request: httpRequest(for: request), url: url,
                                        expectedChunks: (request.maxTokens ?? 256) + 1, framing: nil, progress: progress)
    }

    public func readStatistics() -> HTTPReadStatistics? { client.readStatistics }

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

/// A wire framing around the chat stream's bytes (SageMaker wraps them in AWS event-stream
/// messages); nil framing means the HTTP body is the SSE stream itself. One per response.
public protocol ChatStreamFraming: AnyObject {
    /// Feeds body bytes; calls `payload` with the chat-stream bytes they complete.
    func feed(_ bytes: UnsafeRawBufferPointer,
              _ payload: (UnsafeRawBufferPointer) throws(CompletionStreamError) -> Void) throws(CompletionStreamError)
    /// The body ended: a partial frame is an error.
    func finish() throws(CompletionStreamError)
}

/// Runs chat streams over CellbookHTTP for every transport: the event path (the chat cell) and
/// the transcript path (the load generator), with the same parser and error mapping.
public enum ChatStreamHTTP {
    public static func stream(client: HTTPClient, request: HTTPRequest, url: String,
                              framing: (any ChatStreamFraming)?) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        let tap = client.observer?.begin(request, at: MonotonicClock.nanoseconds())
        let reader = ChatStreamReader(events: client.stream(request), url: url, framing: framing, tap: tap)
        // Unfolding runs the reader on the consuming task: one hop per network read, no relay task.
        return AsyncThrowingStream(unfolding: { try await reader.next() })
    }

    /// Cancelling the calling task aborts the transfer; the transcript then has what came so far.
    public static func transcript(client: HTTPClient, request: HTTPRequest, url: String, expectedChunks: Int,
                                  framing: (any ChatStreamFraming)?,
                                  progress: (@Sendable (Int) -> Void)?) async -> CompletionTranscript {
        let tap = client.observer?.begin(request, at: MonotonicClock.nanoseconds())
        let sink = ChatTranscriptSink(url: url, expectedChunks: expectedChunks, framing: framing, progress: progress, tap: tap)
        let handle = client.stream(request, to: sink)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { sink.deliver(to: $0) }
        } onCancel: {
            handle.cancel()
        }
    }
}

/// Follows one chat completion on the HTTP event-loop thread: transfer coding, framing, SSE and
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
    private let framing: (any ChatStreamFraming)?
    /// The recording's view of the exchange (nil unless the run records).
    private let tap: (any HTTPExchangeTap)?
    private let parser = ChatStreamParser()
    private var transcript = CompletionTranscript()
    /// Set when the head says the body is chunked: the sink takes bodies raw (one call per
    /// network read rather than per chunk) and undoes the framing itself.
    private var chunked: ChunkedDecoder?
    private var sawHead = false
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

    init(url: String, expectedChunks: Int, framing: (any ChatStreamFraming)?, progress: (@Sendable (Int) -> Void)?,
         tap: (any HTTPExchangeTap)? = nil) {
        self.url = url
        self.framing = framing
        self.tap = tap
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
        tap?.head(status: status, headers: headers)
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
            tap?.body(UnsafeRawBufferPointer(rebasing: bytes.prefix(chatErrorBodyLimit - errorBody.count)), receivedAt: receivedAt)
            errorBody.append(contentsOf: bytes.prefix(chatErrorBodyLimit - errorBody.count))
            return errorBody.count < chatErrorBodyLimit
        }
        if let framing {
            try framing.feed(bytes) { (payload) throws(CompletionStreamError) in try parse(payload, receivedAt: receivedAt) }
        } else {
            try parse(bytes, receivedAt: receivedAt)
        }
        return true
    }

    private func parse(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) throws(CompletionStreamError) {
        tap?.body(bytes, receivedAt: receivedAt)
        let added = try parser.feed(bytes, receivedAt: receivedAt, into: &transcript)
        guard added > 0, progress != nil else { return }
        unreported += added
        if receivedAt &- reportedAt >= Self.progressIntervalNs {
            progress?(unreported)
            unreported = 0
            reportedAt = receivedAt
        }
    }

    func finish(_ end: HTTPStreamEnd) {
        transcript.endedAt = MonotonicClock.nanoseconds()
        if let status = errorStatus {
            transcript.failure = .httpStatus(code: status, body: chatErrorText(errorBody))
        } else if transcript.failure == nil {
            switch end {
            case .completed:
                do throws(CompletionStreamError) {
                    try framing?.finish()
                    try parser.finish(receivedAt: lastReceivedAt, into: &transcript)
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
        if let tap {
            let error: String? = switch end {
            case .completed: nil
            case .failed(let e): "\(e)"
            case .cancelled: "cancelled"
            }
            tap.end(error: error, at: transcript.endedAt)
        }
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
}

/// How much of an error response's body is kept as the error's text.
let chatErrorBodyLimit = 16 * 1024

func chatErrorText(_ body: [UInt8]) -> String {
    String(decoding: body.prefix(chatErrorBodyLimit), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

extension CompletionStreamError {
    /// A transfer failure seen by either chat path: cut after the response head began means the
    /// stream was disconnected; before it, the server could not be reached.
    public init(_ error: HTTPError, afterHead: Bool) {
        switch error {
        case .transferFailed(_, let code, let detail) where afterHead:
            self = .disconnected(detail: "\(detail) (libcurl error \(code))")
        case .connectionRefused, .couldNotResolveHost, .timedOut, .transferFailed, .invalidRequest, .clientUnavailable:
            self = .connection(detail: error.description)
        }
    }
}

/// Pulls HTTP events and turns them into completion events. `AsyncThrowingStream(unfolding:)`
/// calls `next()` from one task at a time, so the state needs no lock.
final class ChatStreamReader: @unchecked Sendable {
    private var events: AsyncThrowingStream<HTTPStreamEvent, Error>.AsyncIterator
    private let url: String
    private let framing: (any ChatStreamFraming)?
    private let parser = ChatStreamParser()
    private var pending: [CompletionStreamEvent] = []
    private var pendingIndex = 0
    private var sawHead = false
    private var ended = false
    private var lastReceivedAt: UInt64 = 0
    private var tap: (any HTTPExchangeTap)?

    init(events: AsyncThrowingStream<HTTPStreamEvent, Error>, url: String, framing: (any ChatStreamFraming)?,
         tap: (any HTTPExchangeTap)? = nil) {
        self.events = events.makeAsyncIterator()
        self.url = url
        self.framing = framing
        self.tap = tap
    }

    deinit { endTap(Task.isCancelled ? "cancelled" : "the stream was dropped before it ended") }

    /// Tells the recording the exchange ended, once.
    private func endTap(_ error: String?) {
        tap?.end(error: error, at: MonotonicClock.nanoseconds())
        tap = nil
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
                endTap("\(error)")
                throw CompletionStreamError(error, afterHead: sawHead)
            } catch {
                endTap("\(error)")
                throw error
            }
            guard let event else {
                ended = true
                endTap(Task.isCancelled ? "cancelled" : nil)
                if Task.isCancelled { return nil }
                try framing?.finish()
                try parser.finish(receivedAt: lastReceivedAt, into: &pending)
                continue
            }
            switch event {
            case .head(let status, let headers):
                sawHead = true
                tap?.head(status: status, headers: headers)
                guard (200..<300).contains(status) else {
                    ended = true
                    let body = await remainingBody()
                    endTap(nil)
                    throw CompletionStreamError.httpStatus(code: status, body: body)
                }
                pending = [.responseHead(status: status, receivedAt: MonotonicClock.nanoseconds())]
            case .body(let bytes, let receivedAt):
                lastReceivedAt = receivedAt
                do {
                    try bytes.withUnsafeBytes { raw in
                        if let framing {
                            try framing.feed(raw) { (payload) throws(CompletionStreamError) in
                                tap?.body(payload, receivedAt: receivedAt)
                                try parser.feed(payload, receivedAt: receivedAt, into: &pending)
                            }
                        } else {
                            tap?.body(raw, receivedAt: receivedAt)
                            try parser.feed(raw, receivedAt: receivedAt, into: &pending)
                        }
                    }
                } catch {
                    ended = true
                    endTap("\(error)")
                    throw error
                }
            }
        }
    }

    private func remainingBody() async -> String {
        var body: [UInt8] = []
        while body.count < chatErrorBodyLimit, let event = try? await events.next() {
            if case .body(let bytes, let receivedAt) = event {
                bytes.withUnsafeBytes { tap?.body($0, receivedAt: receivedAt) }
                body += bytes
            }
        }
        return chatErrorText(body)
    }
}
