/// When a client's event loop may hold off reading so that each read collects several chunks.
///
/// Reading a socket the moment data arrives gives each chunk an exact receive time, but on a
/// fast stream it costs a system call, a TCP acknowledgement and a libcurl pass per chunk: at
/// a few hundred thousand chunks a second that alone fills a core. Batching trades timing
/// resolution for that cost, the way a network card's interrupt moderation does, and only
/// while the inbound rate is high: below `thresholdBytesPerSecond` every read still happens on
/// arrival. While batching, a turn of the loop starts reading no sooner than `window` after the
/// previous one did, so a chunk's receive stamp can be late by up to `window`.
/// `HTTPClient.readStatistics` says how many bytes were read that way.
public struct ReadBatching: Sendable, Equatable {
    /// The longest a read is held back while batching.
    public var window: Duration
    /// The inbound rate (body bytes per second, measured over 10 ms) above which batching starts;
    /// it stops below half of this.
    public var thresholdBytesPerSecond: Double

    public init(window: Duration, thresholdBytesPerSecond: Double) {
        self.window = window
        self.thresholdBytesPerSecond = thresholdBytesPerSecond
    }

    /// Every read on arrival.
    public static let off = ReadBatching(window: .zero, thresholdBytesPerSecond: .infinity)

    public var isEnabled: Bool { window > .zero && thresholdBytesPerSecond.isFinite }

    public var windowNanoseconds: Int64 {
        let (seconds, attoseconds) = window.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The hold between turns for a measured inbound rate, given the one in force (hysteresis).
    func period(bytesPerSecond rate: Double, current: Int64) -> Int64 {
        guard isEnabled else { return 0 }
        if rate > thresholdBytesPerSecond { return windowNanoseconds }
        if rate < thresholdBytesPerSecond / 2 { return 0 }
        return current
    }
}

/// What a client has read, for judging the timing resolution of what it measured.
public struct HTTPReadStatistics: Sendable, Equatable {
    /// Body bytes received.
    public var bytes = 0
    /// Of those, the bytes read in a turn that was held back to batch (`ReadBatching`).
    public var batchedBytes = 0

    public init(bytes: Int = 0, batchedBytes: Int = 0) {
        self.bytes = bytes
        self.batchedBytes = batchedBytes
    }

    /// The share of bytes read after a batching hold, 0 when nothing was read.
    public var batchedShare: Double { bytes > 0 ? Double(batchedBytes) / Double(bytes) : 0 }

    /// The difference between two readings (what happened in between).
    public static func - (later: HTTPReadStatistics, earlier: HTTPReadStatistics) -> HTTPReadStatistics {
        HTTPReadStatistics(bytes: later.bytes - earlier.bytes, batchedBytes: later.batchedBytes - earlier.batchedBytes)
    }
}
