/// Watches HTTP exchanges as a client's users see them, for recording a run. A client carries
/// at most one; the layers that read a response (the chat-stream path, the tokenizer) report
/// to it what they read, after transfer coding and any framing is undone. A client without an
/// observer pays one nil check per exchange.
public protocol HTTPExchangeObserver: Sendable {
    /// An exchange starts (called before the request is sent).
    func begin(_ request: HTTPRequest, at monotonic: UInt64) -> any HTTPExchangeTap
}

/// One exchange being watched. Calls come one at a time, possibly from the client's loop thread:
/// keep them quick.
public protocol HTTPExchangeTap: AnyObject, Sendable {
    func head(status: Int, headers: [String: String])
    func body(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64)
    /// The exchange ended; `error` says why if it failed below HTTP.
    func end(error: String?, at monotonic: UInt64)
}
