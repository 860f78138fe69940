/// When a client's event loop may hold off reading so that each read collects several chunks.
///
/// Reading a socket the moment data arrives gives each chunk an exact receive time, but on a
/// fast stream it costs a system call, a TCP acknowledgement and a libcurl pass per chunk: at
/// a few hundred thousand chunks a second that alone fills a core, and a client that saturates
/// its core stamps everything late anyway. Batching trades timing resolution for that cost,
/// the way a network card's adaptive interrupt moderation does, and only as far as needed:
///
/// - below `thresholdBytesPerSecond` of inbound body data every read happens on arrival;
/// - above it, a turn of the loop starts reading no sooner than a window after the previous
///   one did. The window starts at 1 ms and doubles (up to `maxWindow`) while servicing
///   sockets takes more than `busyShare` of the loop thread's time, and halves again when it
///   takes less than a quarter of that;
/// - below half the threshold, reads go back to on arrival.
///
/// The wait never postpones libcurl's timers, and there is none while any transfer still awaits
/// its first body byte: connecting, sending and the first bytes of each answer are handled on
/// arrival. After that, while batching, a chunk's receive stamp can be late by up to the window.
/// `HTTPClient.readStatistics` says how many bytes were read that way and the widest window used.
public struct ReadBatching: Sendable, Equatable {
    /// The widest window batching may use.
    public var maxWindow: Duration
    /// The inbound rate (body bytes per second) above which batching starts; it stops below half
    /// of this.
    public var thresholdBytesPerSecond: Double
    /// The share of the loop thread's time that servicing sockets may take before the window widens.
    public var busyShare: Double

    public init(maxWindow: Duration, thresholdBytesPerSecond: Double, busyShare: Double = 0.25) {
        self.maxWindow = maxWindow
        self.thresholdBytesPerSecond = thresholdBytesPerSecond
        self.busyShare = busyShare
    }

    /// Every read on arrival.
    public static let off = ReadBatching(maxWindow: .zero, thresholdBytesPerSecond: .infinity)

    public var isEnabled: Bool { maxWindow > .zero && thresholdBytesPerSecond.isFinite }

    public var maxWindowNanoseconds: Int64 {
        let (seconds, attoseconds) = maxWindow.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The first window once batching starts, and the narrowest it shrinks to.
    static let firstWindowNanoseconds: Int64 = 1_000_000

    /// The window to use next, from the inbound rate and the share of time spent servicing
    /// sockets measured under the `current` window (0: reading on arrival).
    func nextWindow(bytesPerSecond rate: Double, busy: Double, current: Int64) -> Int64 {
        guard isEnabled, rate >= thresholdBytesPerSecond / 2 else { return 0 }
        let widest = max(maxWindowNanoseconds, 1)
        if current == 0 { return rate > thresholdBytesPerSecond ? min(Self.firstWindowNanoseconds, widest) : 0 }
        if busy > busyShare { return min(current * 2, widest) }
        if busy < busyShare / 4 { return max(current / 2, min(Self.firstWindowNanoseconds, widest)) }
        return current
    }
}

/// What a client has read, for judging the timing resolution of what it measured.
public struct HTTPReadStatistics: Sendable, Equatable {
    /// Body bytes received.
    public var bytes = 0
    /// Of those, the bytes read in a turn that was held back to batch (`ReadBatching`).
    public var batchedBytes = 0
    /// The widest batching window used so far (0: every read on arrival).
    public var widestWindowNanoseconds: Int64 = 0

    public init(bytes: Int = 0, batchedBytes: Int = 0, widestWindowNanoseconds: Int64 = 0) {
        self.bytes = bytes
        self.batchedBytes = batchedBytes
        self.widestWindowNanoseconds = widestWindowNanoseconds
    }

    /// The share of bytes read after a batching hold, 0 when nothing was read.
    public var batchedShare: Double { bytes > 0 ? Double(batchedBytes) / Double(bytes) : 0 }

    /// What happened between two readings; the widest window is the later reading's (a bound).
    public static func - (later: HTTPReadStatistics, earlier: HTTPReadStatistics) -> HTTPReadStatistics {
        HTTPReadStatistics(bytes: later.bytes - earlier.bytes, batchedBytes: later.batchedBytes - earlier.batchedBytes,
                           widestWindowNanoseconds: later.widestWindowNanoseconds)
    }
}
