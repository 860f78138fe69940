@testable import ServingKit
import SystemKit
import CellbookJSON
import CellbookHTTP
@testable import LoadBench

/// A transport that answers every request on a fixed schedule without a network, and
/// records how many requests were in flight at once.
struct ScriptedTransport: ChatStreamTransport {
    var ttftNs: UInt64
    var gapNs: UInt64
    var tokens: Int
    var promptTokens: Int? = nil
    let concurrency = Locked((current: 0, peak: 0, started: 0))

    func stream(_ request: CompletionRequest) -> AsyncThrowingStream<CompletionStreamEvent, Error> {
        let counter = concurrency
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: CompletionStreamEvent.self)
        let task = Task {
            counter.withLock {
                $0.current += 1
                $0.started += 1
                $0.peak = max($0.peak, $0.current)
            }
            // The request leaves the in-flight count before its stream ends: the load test may
            // start the next one the moment it sees the end, and counting both would be a false peak.
            var failure: Error?
            do {
                try await Task.sleep(nanoseconds: ttftNs)
                for index in 0..<min(tokens, request.maxTokens ?? tokens) {
                    if index > 0 { try await Task.sleep(nanoseconds: gapNs) }
                    continuation.yield(.chunk(TokenChunk(text: "t", receivedAt: RunClock.now())))
                }
                if let promptTokens {
                    continuation.yield(.usage(promptTokens: promptTokens, completionTokens: min(tokens, (request.maxTokens ?? tokens))))
                }
                continuation.yield(.finish(reason: "length"))
            } catch {
                failure = error
            }
            counter.withLock { $0.current -= 1 }
            if let failure { continuation.finish(throwing: failure) } else { continuation.finish() }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
