#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The OpenAI chat-completions protocol as TGI's Messages API, llama.cpp's
// llama-server and llama-cpp-python speak it: request encoding, stream chunk
// decoding, and the two calls on HTTPClient.

/// One message of a chat.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    /// Creates a message.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A `system` message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A `user` message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An `assistant` message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// A `/v1/chat/completions` request body. Optional fields left nil are not sent.
public struct ChatRequest: Sendable, Equatable {
    public var model: String
    public var messages: [ChatMessage]
    /// `max_tokens`.
    public var maxTokens: Int?
    public var temperature: Double?
    /// `top_p`.
    public var topP: Double?
    /// Stop sequences; not sent when empty.
    public var stop: [String]
    /// Whether the server should stream. `streamChat` and `chat` set it for you.
    public var stream: Bool
    public var seed: Int?
    /// Sends `stream_options: {"include_usage": true}` on streaming requests,
    /// asking for a last chunk with token counts.
    public var includeUsage: Bool
    /// Further top-level fields (sampling parameters a server knows, for
    /// example). Merged last, so they override the fields above.
    public var extra: JSONObject

    /// Creates a request; only `model` and `messages` are required.
    public init(
        model: String,
        messages: [ChatMessage],
        maxTokens: Int? = nil,
        temperature: Double? = nil,
        topP: Double? = nil,
        stop: [String] = [],
        stream: Bool = true,
        seed: Int? = nil,
        includeUsage: Bool = false,
        extra: JSONObject = [:]
    ) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.stop = stop
        self.stream = stream
        self.seed = seed
        self.includeUsage = includeUsage
        self.extra = extra
    }

    /// The request as the JSON object that goes on the wire.
    public var json: JSONValue {
        var body: JSONObject = [
            "model": .string(model),
            "messages": .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
            "stream": .bool(stream),
        ]
        if let maxTokens { body["max_tokens"] = .int(maxTokens) }
        if let temperature { body["temperature"] = .double(temperature) }
        if let topP { body["top_p"] = .double(topP) }
        if !stop.isEmpty { body["stop"] = .array(stop.map(JSONValue.string)) }
        if let seed { body["seed"] = .int(seed) }
        // OpenAI rejects stream_options on a request that does not stream.
        if stream && includeUsage { body["stream_options"] = .object(["include_usage": .bool(true)]) }
        body.merge(extra)
        return .object(body)
    }

    /// The JSON body, UTF-8, keys sorted so equal requests give equal bytes.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(json))
    }
}

/// Token counts a server reports.
public struct ChatUsage: Sendable, Equatable {
    public var prompt: Int
    public var completion: Int
    public var total: Int

    /// Creates token counts.
    public init(prompt: Int, completion: Int, total: Int) {
        self.prompt = prompt
        self.completion = completion
        self.total = total
    }
}

/// The answer to a non-streaming chat request.
public struct ChatResponse: Sendable, Equatable {
    public var content: String
    /// `stop`, `length`, `stop_sequence`, ... or nil when the server gave none.
    public var finishReason: String?
    public var usage: ChatUsage?

    /// Creates an answer.
    public init(content: String, finishReason: String?, usage: ChatUsage?) {
        self.content = content
        self.finishReason = finishReason
        self.usage = usage
    }
}

/// What one SSE `data:` payload of a chat stream means. A payload can mean
/// several things at once (llama-server's last chunk carries the finish
/// reason and the usage), so decoding gives a list.
public enum ChatStreamEvent: Sendable, Equatable {
    /// Generated text. Empty deltas (the role-only first chunk) are not reported.
    case delta(content: String, receivedAt: UInt64)
    /// Why generation stopped: `stop`, `length`, `stop_sequence`, ...
    case finish(reason: String)
    /// Token counts, from the usage chunk.
    case usage(prompt: Int, completion: Int, total: Int)
    /// The `[DONE]` sentinel.
    case done
    /// An error the server sent inside the stream (TGI does so with HTTP 200).
    /// The stream is not ended by it; the caller decides.
    case error(message: String)

    /// Decodes one SSE event of a chat stream. `url` only goes into error messages.
    public static func decode(_ event: SSEEvent, url: String = "") throws -> [ChatStreamEvent] {
        try decode(data: event.data, receivedAt: event.receivedAt, url: url, decoder: JSONDecoder())
    }

    static func decode(data: String, receivedAt: UInt64, url: String, decoder: JSONDecoder) throws -> [ChatStreamEvent] {
        let payload = data.trimmingASCIIWhitespace()
        if payload == "[DONE]" { return [.done] }
        if payload.isEmpty { return [] }
        let chunk: CompletionWire
        do {
            chunk = try decoder.decode(CompletionWire.self, from: Data(payload.utf8))
        } catch {
            throw ChatError.malformedPayload(url: url, reason: "not a chat completion chunk (\(error))", excerpt: excerpt(payload))
        }
        var events: [ChatStreamEvent] = []
        if let error = chunk.error { events.append(.error(message: error.message)) }
        if let choice = chunk.choices?.first {
            if let content = choice.delta?.content ?? choice.text, !content.isEmpty {
                events.append(.delta(content: content, receivedAt: receivedAt))
            }
            if let reason = choice.finishReason { events.append(.finish(reason: reason)) }
        }
        if let usage = chunk.usage?.usage {
            events.append(.usage(prompt: usage.prompt, completion: usage.completion, total: usage.total))
        }
        return events
    }
}

/// A chat call that got an answer it cannot use.
public enum ChatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with a status outside 2xx; `body` is the start of its answer.
    case httpStatus(status: Int, url: String, body: String)
    /// The server answered 2xx with an error object instead of a completion.
    case server(message: String, url: String)
    /// A payload was not the JSON the protocol promises.
    case malformedPayload(url: String, reason: String, excerpt: String)
    /// A streaming request got a body that holds no server-sent events.
    case notAnEventStream(url: String, contentType: String, excerpt: String)

    public var description: String {
        switch self {
        case .httpStatus(let status, let url, let body):
            let text = body.isEmpty ? "an empty body" : "\"\(body)\""
            return "\(url) answered HTTP \(status) with \(text). \(Self.hint(forStatus: status))"
        case .server(let message, let url):
            return "\(url) reported an error: \(message)"
        case .malformedPayload(let url, let reason, let excerpt):
            let origin = url.isEmpty ? "" : " from \(url)"
            return "Could not read a chat response\(origin): \(reason). The payload began: \(excerpt)"
        case .notAnEventStream(let url, let contentType, let excerpt):
            return "\(url) did not answer with server-sent events (content type \(contentType)); "
                + "check that the URL is a chat-completions endpoint that streams. The body began: \(excerpt)"
        }
    }

    private static func hint(forStatus status: Int) -> String {
        switch status {
        case 400, 422: return "The server rejected the request; an input longer than its token limits is a common cause."
        case 401, 403: return "Check the credentials or token sent with the request."
        case 404: return "Check the URL path (for example /v1/chat/completions) and the model name."
        case 424: return "The model failed while generating; see the server's log."
        case 429: return "The server is overloaded; lower the concurrency or retry later."
        case 503: return "The server is not ready (still loading the model?); wait for its health check."
        default: return "See the server's log for details."
        }
    }
}

extension HTTPClient {
    /// Streams a chat completion from `url` (a full `/v1/chat/completions` URL).
    ///
    /// Sends `request` with `stream: true`; yields its deltas (stamped when
    /// their bytes arrived), finish reason, usage and `[DONE]`. Throws
    /// `ChatError.httpStatus` with the start of the body for a non-2xx
    /// answer, and `HTTPError` when no answer came.
    public func streamChat(
        url: String, request: ChatRequest, headers: [String: String] = [:], timeout: Duration? = nil
    ) -> AsyncThrowingStream<ChatStreamEvent, Error> {
        var request = request
        request.stream = true
        let body: [UInt8]
        do {
            body = try request.encoded()
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        var allHeaders = ["Content-Type": "application/json", "Accept": "text/event-stream"]
        allHeaders.merge(headers) { _, caller in caller }
        let state = ChatStreamState(
            url: url,
            events: stream(HTTPRequest(method: "POST", url: url, headers: allHeaders, body: body, timeout: timeout)))
        return AsyncThrowingStream(unfolding: { try await state.next() })
    }

    /// Sends a chat completion with `stream: false` and returns the answer.
    /// Throws `ChatError.httpStatus` for a non-2xx answer and
    /// `ChatError.server` for a 2xx answer that holds an error object.
    public func chat(
        url: String, request: ChatRequest, headers: [String: String] = [:], timeout: Duration? = nil
    ) async throws -> ChatResponse {
        var request = request
        request.stream = false
        var allHeaders = ["Content-Type": "application/json", "Accept": "application/json"]
        allHeaders.merge(headers) { _, caller in caller }
        let response = try await send(
            HTTPRequest(method: "POST", url: url, headers: allHeaders, body: try request.encoded(), timeout: timeout))
        guard response.isSuccess else {
            throw ChatError.httpStatus(status: response.status, url: url, body: excerpt(response.bodyText))
        }
        let completion: CompletionWire
        do {
            completion = try JSONDecoder().decode(CompletionWire.self, from: Data(response.body))
        } catch {
            throw ChatError.malformedPayload(
                url: url, reason: "not a chat completion (\(error))", excerpt: excerpt(response.bodyText))
        }
        if let error = completion.error { throw ChatError.server(message: error.message, url: url) }
        guard let choice = completion.choices?.first else {
            throw ChatError.malformedPayload(url: url, reason: "the answer has no choices", excerpt: excerpt(response.bodyText))
        }
        return ChatResponse(
            content: choice.message?.content ?? choice.text ?? "",
            finishReason: choice.finishReason,
            usage: completion.usage?.usage)
    }
}

/// Turns a stream of HTTP events into chat events: checks the status, parses
/// SSE, decodes payloads. Driven by `AsyncThrowingStream(unfolding:)`, which
/// calls `next()` from one task at a time, so the state needs no lock.
private final class ChatStreamState: @unchecked Sendable {
    private static let errorBodyLimit = 64 * 1024
    private static let excerptBytes = 512

    private let url: String
    private var events: AsyncThrowingStream<HTTPStreamEvent, Error>.AsyncIterator
    private var parser = SSEParser()
    private let decoder = JSONDecoder()
    private var pending: [ChatStreamEvent] = []
    private var pendingIndex = 0
    private var ended = false
    private var sawEvent = false
    private var contentType = "unknown"
    /// The first bytes of the body, for an error message if no event ever comes.
    private var opening: [UInt8] = []

    init(url: String, events: AsyncThrowingStream<HTTPStreamEvent, Error>) {
        self.url = url
        self.events = events.makeAsyncIterator()
    }

    func next() async throws -> ChatStreamEvent? {
        while true {
            if pendingIndex < pending.count {
                pendingIndex += 1
                return pending[pendingIndex - 1]
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if ended { return nil }

            guard let event = try await events.next() else {
                ended = true
                if Task.isCancelled { return nil }
                try decode(parser.finish())
                if !sawEvent && !opening.isEmpty {
                    throw ChatError.notAnEventStream(
                        url: url, contentType: contentType, excerpt: excerpt(String(decoding: opening, as: UTF8.self)))
                }
                continue
            }
            switch event {
            case .head(let status, let headers):
                contentType = headers["content-type"] ?? "none"
                if !(200..<300).contains(status) {
                    ended = true
                    throw ChatError.httpStatus(status: status, url: url, body: try await remainingBodyText())
                }
            case .body(let bytes, let receivedAt):
                if !sawEvent && opening.count < Self.excerptBytes {
                    opening.append(contentsOf: bytes.prefix(Self.excerptBytes - opening.count))
                }
                let parsed = parser.feed(bytes, receivedAt: receivedAt)
                if !parsed.isEmpty { sawEvent = true }
                try decode(parsed)
            }
        }
    }

    private func decode(_ parsed: [SSEEvent]) throws {
        for event in parsed {
            pending += try ChatStreamEvent.decode(data: event.data, receivedAt: event.receivedAt, url: url, decoder: decoder)
        }
    }

    /// The error body's start; a body that fails mid-way gives what arrived.
    private func remainingBodyText() async throws -> String {
        var body: [UInt8] = []
        do {
            while body.count < Self.errorBodyLimit, let event = try await events.next() {
                if case .body(let bytes, _) = event { body += bytes }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The status already says what matters.
        }
        return excerpt(String(decoding: body, as: UTF8.self))
    }
}

// MARK: Wire format

/// A chat completion or one chunk of it: `choices` may be empty (the usage
/// chunk), `usage` and `error` are often absent or null.
struct CompletionWire: Decodable {
    var choices: [ChoiceWire]?
    var usage: UsageWire?
    var error: ErrorWire?
}

struct ChoiceWire: Decodable {
    var delta: MessageWire?
    var message: MessageWire?
    /// Legacy `/v1/completions` choices carry `text` instead of a message.
    var text: String?
    var finishReason: String?

    enum CodingKeys: String, CodingKey {
        case delta, message, text
        case finishReason = "finish_reason"
    }
}

struct MessageWire: Decodable {
    var content: String?
}

struct UsageWire: Decodable {
    var promptTokens: Int?
    var completionTokens: Int?
    var totalTokens: Int?

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
    }

    var usage: ChatUsage? {
        guard promptTokens != nil || completionTokens != nil else { return nil }
        let prompt = promptTokens ?? 0
        let completion = completionTokens ?? 0
        return ChatUsage(prompt: prompt, completion: completion, total: totalTokens ?? prompt + completion)
    }
}

/// `"error": "text"` (TGI) or `"error": {"message": "text", ...}` (OpenAI, llama-server).
struct ErrorWire: Decodable {
    var message: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            message = text
            return
        }
        let object = try container.decode(JSONValue.self)
        if let text = object["message"]?.stringValue ?? object["error"]?.stringValue ?? object["detail"]?.stringValue {
            message = text
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            message = (try? String(decoding: encoder.encode(object), as: UTF8.self)) ?? "unreadable error object"
        }
    }
}

/// The start of a text for an error message: at most 1,000 characters.
func excerpt(_ text: String, limit: Int = 1_000) -> String {
    let trimmed = text.trimmingASCIIWhitespace()
    guard trimmed.count > limit else { return trimmed }
    return String(trimmed.prefix(limit)) + "… (\(trimmed.utf8.count) bytes in all)"
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
