import CellbookHTTP

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
        var allHeaders = ["Content-Type": "application/json", "Accept": "text/event-stream",
                          "X-Request-Id": request.requestID]
        allHeaders.merge(headers) { _, caller in caller }
        let bytes = Array(JSONValue.object(body(for: request)).serialized().utf8)
        let http = client.stream(HTTPRequest(method: "POST", url: url, headers: allHeaders, body: bytes))
        let reader = SSEChatStreamReader(events: http, url: url)
        // Unfolding runs the reader on the consuming task: one hop per network read, no relay task.
        return AsyncThrowingStream(unfolding: { try await reader.next() })
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
    private static let errorBodyLimit = 16 * 1024

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
                throw mapped(error)
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

    private func mapped(_ error: HTTPError) -> CompletionStreamError {
        switch error {
        case .transferFailed(_, let code, let detail) where sawHead:
            return .disconnected(detail: "\(detail) (libcurl error \(code))")
        case .connectionRefused, .couldNotResolveHost, .timedOut, .transferFailed, .invalidRequest, .clientUnavailable:
            return .connection(detail: error.description)
        }
    }

    private func remainingBody() async -> String {
        var body: [UInt8] = []
        while body.count < Self.errorBodyLimit, let event = try? await events.next() {
            if case .body(let bytes, _) = event { body += bytes }
        }
        return String(decoding: body.prefix(Self.errorBodyLimit), as: UTF8.self).trimmingWhitespace
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
