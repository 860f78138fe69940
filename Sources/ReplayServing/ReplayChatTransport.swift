import CellbookHTTP
import CellbookJSON
import CellbookRecording
import Foundation
import ServingKit
import SystemKit

/// Answers chat completions from a recording: the request's body is built as the recorded
/// target built it (the Messages API body), matched against the recorded exchanges, and the
/// recorded response stream is fed to the same parser as a live one, each piece at its recorded
/// time after the request started. Timing is kept by a thread per answer that sleeps to
/// absolute deadlines (CLOCK_MONOTONIC), so a busy task pool does not smear it.
public struct ReplayChatTransport: ChatTranscriptTransport {
    public let exchanges: RecordedExchanges
    /// The recorded chat paths (`/v1/chat/completions`, `/endpoints/NAME/invocations-response-stream`).
    public let paths: [String]
    public var includeUsage = true
    /// Recorded time is divided by this (2: twice as fast).
    public var speed: Double
    /// A run that records a replay records the answers as replayed (their real arrival times),
    /// so a replay's recording can be replayed, and its timing compared with the original's.
    public var observer: (any HTTPExchangeObserver)?

    public init(exchanges: RecordedExchanges, paths: [String], speed: Double = 1, observer: (any HTTPExchangeObserver)? = nil) {
        self.exchanges = exchanges
        self.paths = paths
        self.speed = speed
        self.observer = observer
    }

    /// The recording's view of one replayed answer.
    func tap(_ exchange: RecordedExchange, at start: UInt64) -> (any HTTPExchangeTap)? {
        guard let observer else { return nil }
        let tap = observer.begin(HTTPRequest(method: exchange.method, url: "replay://recording" + exchange.path,
                                             body: Array(exchange.requestBody.utf8)), at: start)
        tap.head(status: exchange.status ?? 200, headers: exchange.headers)
        return tap
    }

    func body(_ request: CompletionRequest) -> String {
        JSONValue.object(request.messagesAPIBody(includeUsage: includeUsage)).serialized()
    }

    public func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: CompletionStreamEvent.self, throwing: Error.self)
        let exchange: RecordedExchange
        do {
            exchange = try exchanges.answer(method: "POST", paths: paths, body: body(request))
        } catch {
            continuation.finish(throwing: CompletionStreamError.connection(detail: "\(error)"))
            return stream
        }
        let stop = Locked(false)
        continuation.onTermination = { _ in stop.withLock { $0 = true } }
        let speed = self.speed
        let start = MonotonicClock.nanoseconds()
        let tap = tap(exchange, at: start)
        Thread.detachNewThread {
            defer { tap?.end(error: stop.current ? "cancelled" : exchange.error, at: MonotonicClock.nanoseconds()) }
            if let status = exchange.status, !(200..<300).contains(status) {
                continuation.finish(throwing: CompletionStreamError.httpStatus(code: status, body: exchange.responseBody))
                return
            }
            continuation.yield(.responseHead(status: exchange.status ?? 200, receivedAt: start))
            let parser = ChatStreamParser()
            var last = start
            for chunk in exchange.chunks {
                last = ReplayClock.sleep(until: start, plus: chunk.dt / speed)
                if stop.current { continuation.finish(); return }
                Array(chunk.text.utf8).withUnsafeBytes { tap?.body($0, receivedAt: last) }
                var events: [CompletionStreamEvent] = []
                do {
                    try Array(chunk.text.utf8).withUnsafeBytes { try parser.feed($0, receivedAt: last, into: &events) }
                } catch {
                    continuation.finish(throwing: error)
                    return
                }
                for e in events { continuation.yield(e) }
            }
            var events: [CompletionStreamEvent] = []
            do {
                if let error = exchange.error { throw CompletionStreamError.disconnected(detail: "as recorded: \(error)") }
                try parser.finish(receivedAt: last, into: &events)
                for e in events { continuation.yield(e) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return stream
    }

    public func transcript(_ request: CompletionRequest, progress: (@Sendable (Int) -> Void)?) async -> CompletionTranscript {
        let exchange: RecordedExchange
        do {
            exchange = try exchanges.answer(method: "POST", paths: paths, body: body(request))
        } catch {
            return CompletionTranscript(failure: .connection(detail: "\(error)"), endedAt: MonotonicClock.nanoseconds())
        }
        let stop = Locked(false)
        let speed = self.speed
        let transport = self
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<CompletionTranscript, Never>) in
                let start = MonotonicClock.nanoseconds()
                let tap = transport.tap(exchange, at: start)
                Thread.detachNewThread {
                    let transcript = Self.play(exchange, start: start, speed: speed, stop: stop, progress: progress, tap: tap)
                    tap?.end(error: transcript.cancelled ? "cancelled" : exchange.error, at: transcript.endedAt)
                    done.resume(returning: transcript)
                }
            }
        } onCancel: {
            stop.withLock { $0 = true }
        }
    }

    /// Plays one recorded answer into a transcript, as `ChatTranscriptSink` would have read it.
    static func play(_ exchange: RecordedExchange, start: UInt64, speed: Double, stop: Locked<Bool>,
                     progress: (@Sendable (Int) -> Void)?, tap: (any HTTPExchangeTap)? = nil) -> CompletionTranscript {
        var transcript = CompletionTranscript()
        if let status = exchange.status, !(200..<300).contains(status) {
            _ = ReplayClock.sleep(until: start, plus: (exchange.chunks.last?.dt ?? 0) / speed)
            transcript.failure = .httpStatus(code: status, body: exchange.responseBody)
            transcript.endedAt = MonotonicClock.nanoseconds()
            return transcript
        }
        let parser = ChatStreamParser()
        var last = start
        do throws(CompletionStreamError) {
            for chunk in exchange.chunks {
                last = ReplayClock.sleep(until: start, plus: chunk.dt / speed)
                if stop.current {
                    transcript.cancelled = true
                    transcript.endedAt = MonotonicClock.nanoseconds()
                    return transcript
                }
                Array(chunk.text.utf8).withUnsafeBytes { tap?.body($0, receivedAt: last) }
                let added = try feed(parser, chunk.text, receivedAt: last, into: &transcript)
                if added > 0 { progress?(added) }
            }
            if let error = exchange.error { throw CompletionStreamError.disconnected(detail: "as recorded: \(error)") }
            try parser.finish(receivedAt: last, into: &transcript)
        } catch {
            transcript.failure = error
        }
        transcript.endedAt = MonotonicClock.nanoseconds()
        return transcript
    }
}

/// Feeds a recorded piece of text to the parser (one place for the bytes' lifetime).
func feed(_ parser: ChatStreamParser, _ text: String, receivedAt: UInt64,
          into transcript: inout CompletionTranscript) throws(CompletionStreamError) -> Int {
    let bytes = ContiguousArray(text.utf8)
    var failure: CompletionStreamError?
    var added = 0
    bytes.withUnsafeBytes { raw in
        do throws(CompletionStreamError) {
            added = try parser.feed(raw, receivedAt: receivedAt, into: &transcript)
        } catch {
            failure = error
        }
    }
    if let failure { throw failure }
    return added
}

/// Sleeps a thread to an absolute monotonic deadline.
public enum ReplayClock {
    /// Sleeps until `start + seconds`; returns the time it woke (ns).
    @discardableResult
    public static func sleep(until start: UInt64, plus seconds: Double) -> UInt64 {
        let deadline = start &+ UInt64(max(0, seconds) * 1e9)
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
        return MonotonicClock.nanoseconds()
    }
}

/// Counts tokens by the recorded answers of the server's tokenizer (`POST /tokenize`).
public struct ReplayTokenCounter: PromptTokenCounter {
    public let exchanges: RecordedExchanges
    public let paths: [String]
    /// Records the answers given when the replay itself is recorded.
    public var observer: (any HTTPExchangeObserver)?

    public func countTokens(_ text: String) async throws -> Int {
        let body = JSONValue.object(["content": .string(text)]).serialized()
        let x = try exchanges.answer(method: "POST", paths: paths, body: body)
        if let observer {
            let now = MonotonicClock.nanoseconds()
            let tap = observer.begin(HTTPRequest(method: x.method, url: "replay://recording" + x.path, body: Array(body.utf8)), at: now)
            tap.head(status: x.status ?? 200, headers: x.headers)
            Array(x.responseBody.utf8).withUnsafeBytes { tap.body($0, receivedAt: now) }
            tap.end(error: nil, at: now)
        }
        if case .object(let o)? = try? JSONValue.parse(bytes: Array(x.responseBody.utf8)), case .array(let tokens)? = o["tokens"] {
            return tokens.count
        }
        throw CompletionStreamError.malformed(detail: "the recorded tokenizer answer is not a token list: \(x.responseBody.prefix(200))")
    }
}
