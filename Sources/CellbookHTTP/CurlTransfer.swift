import CCurlShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a transfer's results go.
enum TransferSink {
    /// Head and body chunks are yielded as they arrive.
    case stream(AsyncThrowingStream<HTTPStreamEvent, Error>.Continuation)
    /// The body is collected and the whole response delivered at the end.
    case collect(CheckedContinuation<HTTPResponse, Error>)
    /// Head, chunks and the end go straight to the consumer, on the loop thread.
    case callback(any HTTPStreamSink)
}

/// How a transfer ended, from the event loop's point of view.
enum TransferOutcome {
    case completed
    case failed(HTTPError)
    case cancelled
}

/// One libcurl easy handle and the state of its response.
///
/// Threading: the caller's thread configures the handle and sets `sink`
/// before `CurlEventLoop.submit`; from then on only the loop thread touches
/// the handle and the response state (libcurl calls the callbacks there).
/// `cancelRequested` is guarded by the loop's lock.
final class CurlTransfer: @unchecked Sendable {
    let url: String
    let easy: UnsafeMutableRawPointer
    var sink: TransferSink? {
        didSet {
            if case .callback(let consumer) = sink { callback = consumer } else { callback = nil }
        }
    }
    /// The `.callback` sink's consumer, unretained (`sink` holds it): read per network read
    /// without the retain and release that matching on the enum costs.
    private unowned(unsafe) var callback: (any HTTPStreamSink)?
    var cancelRequested = false
    /// Kept alive until the transfer finishes (the client, for sink streams, which have no
    /// other owner to hold it).
    var owner: AnyObject?
    /// The loop running the transfer, set when it is added there (loop thread only); the loop
    /// holds the transfer while it runs, so it outlives every callback.
    unowned(unsafe) var loop: CurlEventLoop?
    /// Counted in the loop's transfers awaiting their first body byte. Loop thread only.
    var awaitingBody = false

    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var status = 0
    private var headers: [String: String] = [:]
    private var headDelivered = false
    private var collected: [UInt8] = []
    /// Set when the stream's consumer has gone, so the write error that
    /// aborting causes is not reported as a failure.
    private var consumerGone = false

    init(_ request: HTTPRequest) throws {
        _ = curlGlobalInit
        url = request.url
        guard let easy = curl_easy_init() else {
            throw HTTPError.invalidRequest(url: request.url, reason: "libcurl could not create a handle (out of memory?)")
        }
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try configure(request)
    }

    deinit {
        // The loop has removed the handle from the multi handle by now (or
        // never added it), so cleaning up here, on any thread, is safe.
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    // MARK: Setup (caller's thread)

    private func configure(_ request: HTTPRequest) throws {
        func check(_ code: CURLcode, _ what: String) throws {
            guard code == CURLE_OK else {
                throw HTTPError.invalidRequest(
                    url: request.url, reason: "libcurl rejected \(what): \(String(cString: curl_easy_strerror(code)))")
            }
        }
        let context = Unmanaged.passUnretained(self).toOpaque()

        try check(ccurl_easy_setopt_string(easy, CURLOPT_URL, request.url), "the URL")
        // Signals would reach a random thread of a multithreaded process.
        try check(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "CURLOPT_NOSIGNAL")
        // Token streams are many tiny writes; Nagle would batch them.
        try check(ccurl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1), "CURLOPT_TCP_NODELAY")
        // A proxy's "200 Connection established" must not pass for the server's head.
        try check(ccurl_easy_setopt_long(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1), "CURLOPT_SUPPRESS_CONNECT_HEADERS")
        try check(ccurl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
        try check(ccurl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context), "CURLOPT_WRITEDATA")
        try check(ccurl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context), "CURLOPT_HEADERDATA")
        try check(
            ccurl_easy_setopt_writefunction(easy) { data, size, count, context in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
                return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
            }, "the write callback")
        try check(
            ccurl_easy_setopt_headerfunction(easy) { data, size, count, context in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
                return transfer.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
            }, "the header callback")

        if let timeout = request.timeout {
            try check(ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout)), "the timeout")
        }
        if let connectTimeout = request.connectTimeout {
            try check(
                ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout)),
                "the connect timeout")
        }

        if request.freshConnection {
            try check(ccurl_easy_setopt_long(easy, CURLOPT_FRESH_CONNECT, 1), "CURLOPT_FRESH_CONNECT")
            try check(ccurl_easy_setopt_long(easy, CURLOPT_FORBID_REUSE, 1), "CURLOPT_FORBID_REUSE")
        }

        switch request.proxy {
        case .direct:
            try check(ccurl_easy_setopt_string(easy, CURLOPT_NOPROXY, "*"), "CURLOPT_NOPROXY")
        case .directForLoopback where Self.isLoopback(url: request.url):
            try check(ccurl_easy_setopt_string(easy, CURLOPT_NOPROXY, "*"), "CURLOPT_NOPROXY")
        case .directForLoopback, .environment:
            break
        }

        let method = request.method.uppercased()
        switch method {
        case "GET" where request.body.isEmpty:
            try check(ccurl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1), "the method")
        case "HEAD":
            try check(ccurl_easy_setopt_long(easy, CURLOPT_NOBODY, 1), "the method")
        default:
            if method == "POST" {
                try check(ccurl_easy_setopt_long(easy, CURLOPT_POST, 1), "the method")
            } else {
                try check(ccurl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method), "the method")
            }
            if method == "POST" || !request.body.isEmpty {
                // Always give a POST a body source: without one libcurl reads stdin.
                try check(
                    ccurl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)),
                    "the body size")
                try request.body.withUnsafeBufferPointer { body in
                    if let base = body.baseAddress, !body.isEmpty {
                        try check(
                            ccurl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)),
                            "the body")
                    } else {
                        try check(ccurl_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""), "the body")
                    }
                }
            }
        }

        var list: UnsafeMutablePointer<curl_slist>?
        var sawExpect = false
        for (name, value) in request.headers {
            if name.lowercased() == "expect" { sawExpect = true }
            // "Name;" is libcurl's way to send a header with an empty value.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw HTTPError.invalidRequest(url: request.url, reason: "out of memory adding header \(name)")
            }
            list = appended
        }
        if !sawExpect {
            // libcurl sends "Expect: 100-continue" for bodies over 1 KiB and then
            // waits up to a second for servers that never answer it.
            if let appended = curl_slist_append(list, "Expect:") { list = appended }
        }
        headerList = list
        try check(ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list), "the headers")
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        // 0 means "no limit" to libcurl; a tiny positive limit must stay a limit.
        return Int(clamping: max(ms, 1))
    }

    /// Whether the URL's host is a loopback name or address.
    static func isLoopback(url: String) -> Bool {
        guard let host = host(of: url)?.lowercased() else { return false }
        return host == "localhost" || host.hasSuffix(".localhost") || host.hasPrefix("127.")
            || host == "::1" || host == "0:0:0:0:0:0:0:1"
    }

    /// The host part of an absolute URL, without brackets, user info or port.
    static func host(of url: String) -> Substring? {
        var rest = url[...]
        if let schemeEnd = rest.firstRange(of: "://") { rest = rest[schemeEnd.upperBound...] }
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<end]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            return authority[authority.index(after: authority.startIndex)..<close]
        }
        if let colon = authority.lastIndex(of: ":") { authority = authority[..<colon] }
        return authority.isEmpty ? nil : authority
    }

    /// Has libcurl hand over the body with its transfer coding left in (it still follows the
    /// chunked framing to find the end). Before `submit` only.
    func keepTransferCoding() {
        _ = ccurl_easy_setopt_long(easy, CURLOPT_HTTP_TRANSFER_DECODING, 0)
    }

    // MARK: Callbacks (loop thread)

    private func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        // Stamp first: this is the moment the bytes reached us.
        let receivedAt = MonotonicClock.nanoseconds()
        if let loop {
            loop.turnBytes &+= bytes.count
            if awaitingBody { loop.firstBody(of: self) }
        }
        if !headDelivered { deliverHead() }
        // The sink turned the head down: returning short makes libcurl abort the transfer.
        if consumerGone { return 0 }
        if let consumer = callback {
            if !consumer.receiveBody(bytes, receivedAt: receivedAt) {
                consumerGone = true
                return 0
            }
            return bytes.count
        }
        switch sink {
        case .stream(let continuation):
            let chunk = [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
                if let base = bytes.baseAddress, !bytes.isEmpty {
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: base, byteCount: bytes.count)
                }
                count = bytes.count
            }
            if case .terminated = continuation.yield(.body(chunk, receivedAt: receivedAt)) {
                // Nobody is listening: returning short makes libcurl abort the transfer now.
                consumerGone = true
                return 0
            }
        case .collect:
            collected.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        case .callback, nil:
            // A `.callback` sink is served above, through `callback`.
            return 0
        }
        return bytes.count
    }

    private func receiveHeader(_ line: UnsafeRawBufferPointer) -> Int {
        let line = UnsafeBufferPointer(start: line.baseAddress?.assumingMemoryBound(to: UInt8.self), count: line.count)
        if line.starts(with: "HTTP/".utf8) {
            // Each response in the chain (100 Continue, then the real one) starts afresh.
            headers.removeAll(keepingCapacity: true)
            status = Self.statusCode(fromStatusLine: line) ?? 0
            return line.count
        }
        let trimmed = Self.trimmed(line[...])
        if trimmed.isEmpty {
            // End of a header block: hand over the head now rather than at the
            // first body byte, so a consumer learns the status even while the
            // server is still queueing the request.
            if status >= 200 && !headDelivered {
                deliverHead()
                if consumerGone { return 0 }
            }
            return line.count
        }
        guard let colon = trimmed.firstIndex(of: UInt8(ascii: ":")) else { return line.count }
        let name = String(decoding: Self.trimmed(trimmed[..<colon]), as: UTF8.self).lowercased()
        let value = String(decoding: Self.trimmed(trimmed[(colon + 1)...]), as: UTF8.self)
        if let existing = headers[name] {
            headers[name] = existing + ", " + value
        } else {
            headers[name] = value
        }
        return line.count
    }

    private static func statusCode(fromStatusLine line: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        var code = 0
        var digits = 0
        for byte in line[(space + 1)...] {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { break }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits == 3 ? code : nil
    }

    private static func trimmed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }

    private func deliverHead() {
        headDelivered = true
        var code = 0
        if ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK, code != 0 {
            status = code
        }
        switch sink {
        case .stream(let continuation):
            continuation.yield(.head(status: status, headers: headers))
        case .callback(let consumer):
            if !consumer.receiveHead(status: status, headers: headers) { consumerGone = true }
        case .collect, nil:
            break
        }
    }

    // MARK: Completion (loop thread)

    /// Called once libcurl reports the transfer done, after the handle left the multi handle.
    func complete(_ result: CURLcode) {
        if result == CURLE_OK && !headDelivered { deliverHead() }
        if consumerGone {
            finish(.cancelled)
        } else if result == CURLE_OK {
            finish(.completed)
        } else {
            finish(.failed(error(for: result)))
        }
    }

    /// Delivers the outcome to whoever waits. Only the first call has an effect.
    func finish(_ outcome: TransferOutcome) {
        guard let sink else { return }
        self.sink = nil
        defer { owner = nil }
        switch (sink, outcome) {
        case (.stream(let continuation), .completed), (.stream(let continuation), .cancelled):
            continuation.finish()
        case (.stream(let continuation), .failed(let error)):
            continuation.finish(throwing: error)
        case (.collect(let continuation), .completed):
            continuation.resume(returning: HTTPResponse(status: status, headers: headers, body: collected))
            collected = []
        case (.collect(let continuation), .failed(let error)):
            continuation.resume(throwing: error)
        case (.collect(let continuation), .cancelled):
            continuation.resume(throwing: CancellationError())
        case (.callback(let consumer), .completed):
            consumer.finish(.completed)
        case (.callback(let consumer), .failed(let error)):
            consumer.finish(.failed(error))
        case (.callback(let consumer), .cancelled):
            consumer.finish(.cancelled)
        }
    }

    private func error(for code: CURLcode) -> HTTPError {
        let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .couldNotResolveHost(url: url, detail: detail)
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(url: url, detail: detail)
        case CURLE_COULDNT_CONNECT:
            var osErrno = 0
            _ = ccurl_easy_getinfo_long(easy, CURLINFO_OS_ERRNO, &osErrno)
            if osErrno == Int(ECONNREFUSED) || detail.contains("refused") {
                return .connectionRefused(url: url, detail: detail)
            }
            return .transferFailed(url: url, curlCode: Int(code.rawValue), detail: detail)
        default:
            return .transferFailed(url: url, curlCode: Int(code.rawValue), detail: detail)
        }
    }
}

/// libcurl's process-wide setup, run once before the first handle. Not thread
/// safe in old libcurl versions, hence a lazily initialised global.
let curlGlobalInit: Void = {
    _ = ccurl_global_init_all()
}()
