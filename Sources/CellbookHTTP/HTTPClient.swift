/// An HTTP client over libcurl. Create one and share it: every request it
/// carries, however many at once, runs on its single event-loop thread, and
/// connections to the same host are reused between requests.
///
/// The client stays alive while any of its streams or sends is in flight,
/// and its thread exits once the last reference is gone.
public final class HTTPClient: Sendable {
    private let loop: CurlEventLoop

    /// Creates a client and starts its event-loop thread. `readBatching` says when the loop may
    /// hold off reading to batch (see `ReadBatching`); the default reads on arrival.
    /// Told about exchanges by the layers that read them, when a run is recorded.
    public let observer: (any HTTPExchangeObserver)?

    public init(readBatching: ReadBatching = .off, observer: (any HTTPExchangeObserver)? = nil) {
        loop = CurlEventLoop(batching: readBatching)
        self.observer = observer
    }

    /// Body bytes received so far and how many of them were read after a batching hold.
    public var readStatistics: HTTPReadStatistics { loop.readStatistics }

    deinit {
        loop.shutdown()
    }

    /// Sends a request and returns the whole response. Any status is a
    /// response; failures to get one throw `HTTPError`. Cancelling the calling
    /// task aborts the transfer and throws `CancellationError`.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = try CurlTransfer(request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.sink = .collect(continuation)
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
    }

    /// Starts a request and streams its response: `.head` once, then `.body`
    /// chunks stamped when libcurl delivered them. The stream finishes when
    /// the response is complete and throws `HTTPError` on failure.
    ///
    /// Buffering is unbounded, so a slow consumer never slows the transfer.
    /// Cancelling the consuming task, or dropping the stream, aborts the
    /// transfer and frees its connection.
    public func stream(_ request: HTTPRequest) -> AsyncThrowingStream<HTTPStreamEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: HTTPStreamEvent.self, throwing: Error.self, bufferingPolicy: .unbounded)
        let transfer: CurlTransfer
        do {
            transfer = try CurlTransfer(request)
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        transfer.sink = .stream(continuation)
        // Capturing self keeps the client (and its loop) alive until the stream ends.
        continuation.onTermination = { termination in
            if case .cancelled = termination { self.loop.cancel(transfer) }
        }
        loop.submit(transfer)
        return stream
    }

    /// Starts a request and hands its response to `sink` on the client's event-loop thread:
    /// the head, then each body chunk with its receive stamp, then how it ended. Unlike
    /// `stream(_:)` there is no task hop and no copy per network read, so this is the way to
    /// consume many fast streams cheaply; the price is that the sink's methods run on the
    /// loop thread and must be quick (see `HTTPStreamSink`).
    ///
    /// The client stays alive until the sink's `finish` has been called. Nothing is tied to
    /// the calling task: cancel with the returned handle (from a task cancellation handler,
    /// for instance). A sink may start its next request from `finish`.
    @discardableResult
    public func stream(_ request: HTTPRequest, to sink: some HTTPStreamSink) -> HTTPStreamHandle {
        let transfer: CurlTransfer
        do {
            transfer = try CurlTransfer(request)
        } catch let error as HTTPError {
            sink.finish(.failed(error))
            return HTTPStreamHandle(loop: loop, transfer: nil)
        } catch {
            sink.finish(.failed(.invalidRequest(url: request.url, reason: String(describing: error))))
            return HTTPStreamHandle(loop: loop, transfer: nil)
        }
        transfer.sink = .callback(sink)
        transfer.owner = self
        if sink.wantsRawTransferCoding { transfer.keepTransferCoding() }
        loop.submit(transfer)
        return HTTPStreamHandle(loop: loop, transfer: transfer)
    }
}
