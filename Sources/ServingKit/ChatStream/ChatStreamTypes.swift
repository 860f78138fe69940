import CellbookHTTP
import CellbookJSON

/// One message of a chat (the Messages API's `{role, content}`).
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// One streamed chat completion, independent of the wire protocol: the chat cell and the load
/// generator both ask for answers this way, and every serving target streams them.
public struct CompletionRequest: Sendable, Equatable {
    /// Identifies the request to the server (sent as `X-Request-Id` where the transport can), so
    /// server-side logs can be joined with client measurements.
    public var requestID: String
    public var model: String
    public var messages: [ChatMessage]
    /// `max_tokens`; nil leaves the server's default.
    public var maxTokens: Int?
    /// Extra body fields merged over the defaults (temperature, top_p, stop, seed, llmperf's
    /// `--additional-sampling-params`).
    public var samplingParams: JSONObject

    public init(requestID: String, model: String, messages: [ChatMessage], maxTokens: Int?,
                samplingParams: JSONObject = JSONObject()) {
        self.requestID = requestID
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.samplingParams = samplingParams
    }

    /// llmperf's request: an empty system message, then the prompt as the user message.
    public init(requestID: String, model: String, prompt: String, maxTokens: Int, samplingParams: JSONObject = JSONObject()) {
        self.init(requestID: requestID, model: model,
                  messages: [ChatMessage(role: "system", content: ""), ChatMessage(role: "user", content: prompt)],
                  maxTokens: maxTokens, samplingParams: samplingParams)
    }

    /// The Messages API body, fields in llmperf's order: model, messages, stream,
    /// stream_options (when usage is asked for), max_tokens, then the sampling params over them.
    public func messagesAPIBody(includeUsage: Bool) -> JSONObject {
        var body = JSONObject()
        body["model"] = .string(model)
        body["messages"] = .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) })
        body["stream"] = .bool(true)
        if includeUsage { body["stream_options"] = .object(["include_usage": .bool(true)]) }
        if let maxTokens, samplingParams["max_tokens"] == nil { body["max_tokens"] = .int(maxTokens) }
        body.merge(samplingParams)
        return body
    }
}

/// A content-bearing piece of the answer and the monotonic time (CLOCK_MONOTONIC, ns)
/// its bytes came off the socket, taken by the transport, not when a task got round to it.
public struct TokenChunk: Sendable, Equatable {
    public var text: String
    public var receivedAt: UInt64

    public init(text: String, receivedAt: UInt64) {
        self.text = text
        self.receivedAt = receivedAt
    }
}

public enum CompletionStreamEvent: Sendable, Equatable {
    /// Response headers arrived with a success status.
    case responseHead(status: Int, receivedAt: UInt64)
    case chunk(TokenChunk)
    /// Token counts as the server reports them (OpenAI `usage`); either may be absent.
    case usage(promptTokens: Int?, completionTokens: Int?)
    case finish(reason: String)
}

/// What went wrong with one request. The load generator records it against the request;
/// it never ends the run.
public enum CompletionStreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with a non-success HTTP status before streaming.
    case httpStatus(code: Int, body: String)
    /// The stream carried an error event (`data: {"error": ...}` or an AWS error message).
    case inStream(code: Int?, message: String)
    /// The connection closed before the stream said it was done.
    case disconnected(detail: String)
    /// The connection could not be made or failed below HTTP.
    case connection(detail: String)
    /// The bytes did not parse as the protocol promised.
    case malformed(detail: String)

    public var description: String {
        switch self {
        case .httpStatus(let code, let body):
            return "server answered HTTP \(code)" + (body.isEmpty ? "" : ": \(body.prefix(300))")
        case .inStream(let code, let message):
            return "server sent an error in the stream" + (code.map { " (code \($0))" } ?? "") + ": \(message)"
        case .disconnected(let detail):
            return "connection closed mid-stream before [DONE]: \(detail)"
        case .connection(let detail):
            return "could not reach the server: \(detail)"
        case .malformed(let detail):
            return "malformed stream: \(detail)"
        }
    }
}

/// A way to stream one chat completion. The load generator is written against this so it
/// can run over OpenAI-style SSE, SageMaker's event stream, or a scripted timeline in tests.
///
/// Implementations must timestamp chunks when bytes arrive, finish the stream normally only
/// when the protocol says the answer is complete, and throw `CompletionStreamError` otherwise.
/// Cancelling the consuming task must abort the transfer.
public protocol ChatStreamTransport: Sendable {
    func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error>

    /// What the transport's HTTP client has read so far (for the summary's timing-resolution
    /// keys); nil when it cannot tell.
    func readStatistics() -> HTTPReadStatistics?
}

extension ChatStreamTransport {
    public func readStatistics() -> HTTPReadStatistics? { nil }
}
