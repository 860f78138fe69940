/// Receives a streamed response on the client's event-loop thread, with no hop into Swift
/// concurrency per network read: for consumers that handle every chunk (a load generator
/// parsing tokens) and cannot afford a task wake-up each time. Start one with
/// `HTTPClient.stream(_:to:)`.
///
/// Every call runs on the event-loop thread, one at a time, in order: at most one
/// `receiveHead`, then `receiveBody` for each chunk, then exactly one `finish`. That thread
/// carries every transfer of the client, so each call must be quick and must never block
/// (no locks held for long, no I/O, no waiting on tasks); hand results to other threads
/// when there is real work to do. Because the calls are serialised, a sink may keep mutable
/// state without a lock as long as nothing else touches it before `finish`, which is why
/// conforming classes are usually `@unchecked Sendable`.
public protocol HTTPStreamSink: AnyObject, Sendable {
    /// Status and headers (lower-cased names) of the final response, before any body.
    /// Return false to abort the transfer; `finish` then receives `.cancelled`.
    func receiveHead(status: Int, headers: [String: String]) -> Bool

    /// A chunk of body bytes, valid only during the call (copy what must outlive it), and the
    /// `MonotonicClock.nanoseconds()` reading taken when libcurl delivered it, before this call.
    /// Return false to abort the transfer; `finish` then receives `.cancelled`.
    func receiveBody(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> Bool

    /// True to receive the body as it came off the wire: chunked transfer coding is left in
    /// (undo it with `ChunkedDecoder` when the head says `transfer-encoding: chunked`), and
    /// each network read arrives in one `receiveBody` instead of one call per HTTP chunk, which
    /// matters when a server sends every token as its own chunk. Read once, when the transfer
    /// starts. The default, false, hands over the decoded body.
    var wantsRawTransferCoding: Bool { get }

    /// How the transfer ended. Called exactly once; the client lets go of the sink afterwards.
    /// If the request cannot even be set up, this is called on the thread that started it,
    /// before `HTTPClient.stream(_:to:)` returns.
    func finish(_ end: HTTPStreamEnd)
}

extension HTTPStreamSink {
    public var wantsRawTransferCoding: Bool { false }
}

/// How a transfer delivered to an `HTTPStreamSink` ended.
public enum HTTPStreamEnd: Sendable, Equatable {
    /// The whole response arrived.
    case completed
    /// No (complete) response: the connection failed, timed out or was cut.
    case failed(HTTPError)
    /// The transfer was stopped by `HTTPStreamHandle.cancel()` or by the sink returning false.
    case cancelled
}

/// Controls a transfer started with `HTTPClient.stream(_:to:)`.
public struct HTTPStreamHandle: Sendable {
    private let loop: CurlEventLoop
    private let transfer: CurlTransfer?

    init(loop: CurlEventLoop, transfer: CurlTransfer?) {
        self.loop = loop
        self.transfer = transfer
    }

    /// Aborts the transfer and frees its connection; the sink's `finish` gets `.cancelled`
    /// unless the transfer had already ended. Safe from any thread, at any time, repeatedly.
    public func cancel() {
        if let transfer { loop.cancel(transfer) }
    }
}
