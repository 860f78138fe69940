import AWSCore
import AWSServices
import CellbookHTTP
import CellbookJSON
import Foundation
import ServingKit

/// Streams answers from a SageMaker endpoint through InvokeEndpointWithResponseStream: the
/// body is an AWS event stream whose PayloadPart events carry TGI's SSE chat stream. The SSE
/// lines may be split across parts; `EventStreamChatFraming` hands the parts' bytes to the same
/// parser the OpenAI path uses, so the chat cell and the load generator read SageMaker exactly
/// as they read a local server.
public struct SageMakerChatTransport: ChatTranscriptTransport {
    public let runtime: SageMakerRuntimeClient
    /// The HTTP client the runtime client sends with (its loop reads the streams).
    public let http: HTTPClient
    public let endpointName: String
    /// Asks TGI for a final usage chunk (`stream_options.include_usage`).
    public var includeUsage: Bool
    /// Retries for the event path (the chat cell): a throttled or unavailable endpoint is asked
    /// again before the answer starts. The load generator's transcript path never retries: a
    /// refused request is a measurement.
    public var retry: RetryPolicy
    public var onRetry: (@Sendable (String) -> Void)?

    public init(runtime: SageMakerRuntimeClient, http: HTTPClient, endpointName: String, includeUsage: Bool = true,
                retry: RetryPolicy = RetryPolicy(), onRetry: (@Sendable (String) -> Void)? = nil) {
        self.runtime = runtime
        self.http = http
        self.endpointName = endpointName
        self.includeUsage = includeUsage
        self.retry = retry
        self.onRetry = onRetry
    }

    func httpRequest(_ request: CompletionRequest) throws -> HTTPRequest {
        let body = Array(JSONValue.object(request.messagesAPIBody(includeUsage: includeUsage)).serialized().utf8)
        return try runtime.responseStreamRequest(name: endpointName, body: body, requestID: request.requestID)
    }

    public func transcript(_ request: CompletionRequest, progress: (@Sendable (Int) -> Void)?) async -> CompletionTranscript {
        let signed: HTTPRequest
        do {
            signed = try httpRequest(request)
        } catch {
            var failed = CompletionTranscript(failure: .connection(detail: "\(error)"))
            failed.endedAt = MonotonicClock.nanoseconds()
            return failed
        }
        return await ChatStreamHTTP.transcript(client: http, request: signed, url: signed.url,
                                               expectedChunks: (request.maxTokens ?? 256) + 1,
                                               framing: EventStreamChatFraming(), progress: progress)
    }

    public func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        let transport = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                var attempt = 0
                while true {
                    attempt += 1
                    var started = false
                    do {
                        let signed = try transport.httpRequest(request)
                        for try await event in ChatStreamHTTP.stream(client: transport.http, request: signed,
                                                                     url: signed.url, framing: EventStreamChatFraming()) {
                            if case .chunk = event { started = true }
                            continuation.yield(event)
                        }
                        continuation.finish()
                        return
                    } catch let error as CompletionStreamError where !started && attempt < transport.retry.maxAttempts
                        && Self.isRetryable(error) && !Task.isCancelled {
                        let delay = transport.retry.delay(forAttempt: attempt - 1)
                        transport.onRetry?("SageMaker InvokeEndpointWithResponseStream: \(error); retrying in "
                            + String(format: "%.1f s", Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                            + " (attempt \(attempt + 1) of \(transport.retry.maxAttempts))")
                        try? await Task.sleep(for: delay)
                    } catch {
                        continuation.finish(throwing: error)
                        return
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Throttled, not ready or unavailable before the answer began: worth asking again.
    static func isRetryable(_ error: CompletionStreamError) -> Bool {
        switch error {
        case .httpStatus(let code, _): return [429, 500, 502, 503, 504].contains(code)
        case .connection: return true
        case .inStream, .disconnected, .malformed: return false
        }
    }

    public func readStatistics() -> HTTPReadStatistics? { http.readStatistics }
}

/// Undoes SageMaker's response-stream framing: event-stream messages in, PayloadPart bytes out;
/// an exception event (ModelStreamError, InternalStreamFailure) fails the stream with its code
/// and message, and a corrupt frame is a malformed stream, never a crash.
final class EventStreamChatFraming: ChatStreamFraming {
    private var stream = SageMakerResponseStream()

    func feed(_ bytes: UnsafeRawBufferPointer,
              _ payload: (UnsafeRawBufferPointer) throws(CompletionStreamError) -> Void) throws(CompletionStreamError) {
        do {
            try stream.feed(bytes) { part in try payload(part) }
        } catch {
            throw Self.mapped(error)
        }
    }

    func finish() throws(CompletionStreamError) {
        do {
            try stream.finish()
        } catch {
            throw Self.mapped(error)
        }
    }

    static func mapped(_ error: any Error) -> CompletionStreamError {
        switch error {
        case let e as CompletionStreamError: return e
        case let f as ResponseStreamFailure:
            return .inStream(code: nil, message: "\(f.exceptionType ?? "error") \(f.code): \(f.message)")
        case let e as EventStreamError:
            if case .truncated = e { return .disconnected(detail: "the event stream ended mid-message (\(e))") }
            return .malformed(detail: "event stream: \(e)")
        default: return .malformed(detail: "\(error)")
        }
    }
}

/// InvokeEndpoint when streaming is off: one JSON answer (TGI's `chat.completion`), reported
/// as the same events a stream gives.
public struct SageMakerInvokeTransport: ChatStreamTransport {
    public let runtime: SageMakerRuntimeClient
    public let endpointName: String

    public init(runtime: SageMakerRuntimeClient, endpointName: String) {
        self.runtime = runtime
        self.endpointName = endpointName
    }

    public func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        let transport = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var body = request.messagesAPIBody(includeUsage: false)
                    body["stream"] = .bool(false)
                    let answer = try await transport.runtime.invokeEndpoint(
                        name: transport.endpointName, body: Array(JSONValue.object(body).serialized().utf8))
                    let received = MonotonicClock.nanoseconds()
                    continuation.yield(.responseHead(status: 200, receivedAt: received))
                    for event in try Self.events(answer.body, receivedAt: received) { continuation.yield(event) }
                    continuation.finish()
                } catch let e as AWSServiceError {
                    continuation.finish(throwing: CompletionStreamError.httpStatus(code: e.httpStatus, body: "\(e.code): \(e.message)"))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func events(_ body: [UInt8], receivedAt: UInt64) throws -> [CompletionStreamEvent] {
        let json = try JSONValue.parse(bytes: body)
        let choice = json["choices"].flatMap { value -> JSONValue? in
            if case .array(let a) = value { return a.first }
            return nil
        }
        var events: [CompletionStreamEvent] = []
        if let text = choice?["message"]?["content"]?.stringValue, !text.isEmpty {
            events.append(.chunk(TokenChunk(text: text, receivedAt: receivedAt)))
        }
        if let reason = choice?["finish_reason"]?.stringValue { events.append(.finish(reason: reason)) }
        if let usage = json["usage"] {
            events.append(.usage(promptTokens: usage["prompt_tokens"]?.intValue, completionTokens: usage["completion_tokens"]?.intValue))
        }
        guard !events.isEmpty else {
            throw CompletionStreamError.malformed(detail: "InvokeEndpoint answered \(String(decoding: body.prefix(200), as: UTF8.self)), not a chat completion")
        }
        return events
    }
}
