import SystemKit
import CCurlShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libcurl multi handle driven by one dedicated thread.
///
/// Other threads never touch the multi handle: they queue commands under a
/// lock and wake the loop through the reactor (an eventfd on Linux). The loop
/// thread adds and removes easy handles, and each turn sleeps in the reactor
/// until a socket is ready, libcurl's timer is due, or it is woken; the reactor
/// then has libcurl service only the ready sockets (`curl_multi_socket_action`,
/// which calls the transfers' callbacks), and the loop collects finished transfers.
final class CurlEventLoop: @unchecked Sendable {
    private enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
    }

    /// The longest sleep with nothing to do; libcurl's own timers and
    /// wake-ups cut it short, so this only bounds idle wake-ups.
    private static let idleWaitMilliseconds: Int32 = 5_000

    private let multi: UnsafeMutableRawPointer?
    private let reactor: OpaquePointer?
    /// Why the loop could not start; every request then fails with it.
    private var startFailure: String?

    private let lock = Locked(())
    private var commands: [Command] = []  // guarded by lock
    private var shuttingDown = false  // guarded by lock

    /// Transfers inside the multi handle, by easy handle. Loop thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    private let batching: ReadBatching
    /// Body bytes the transfers received during the current turn (they add to it). Loop thread only.
    var turnBytes = 0
    /// Transfers in the loop that have not received a body byte yet. While there are any, reads
    /// are not batched: connecting, sending and the first bytes of an answer (its time to first
    /// token) are handled on arrival. Loop thread only.
    private var awaitingBody = 0
    /// The meter: bytes and the reactor's busy time since `meterStartNs`. Loop thread only.
    private var meterBytes = 0
    private var meterStartNs: UInt64 = 0
    private var meterBusyStartNs: Int64 = 0
    /// The batching window now in force (0: read on arrival). Loop thread only.
    private var periodNs: Int64 = 0
    private var statistics = HTTPReadStatistics()  // guarded by lock
    /// Counted since the last publication to `statistics` (once a metering interval and before
    /// any transfer finishes, so a finished transfer's bytes are always in). Loop thread only.
    private var unpublished = HTTPReadStatistics()
    /// Whether the reactor is timing its socket work (only near or above the threshold).
    private var measuringBusy = false

    /// The shortest metering interval; it is at least four windows, so each reading spans
    /// several turns.
    private static let meterIntervalNs: UInt64 = 10_000_000

    init(batching: ReadBatching = .off) {
        self.batching = batching
        _ = curlGlobalInit
        multi = curl_multi_init()
        reactor = multi.flatMap { ccurl_reactor_create($0) }
        guard multi != nil else {
            startFailure = "libcurl could not create a multi handle (out of memory?)"
            return
        }
        guard reactor != nil else {
            startFailure = "could not set up the event loop's epoll and eventfd (errno \(errno))"
            return
        }
        let error = startThread()
        if error != 0 {
            startFailure = "could not start the event-loop thread (pthread_create error \(error))"
        }
    }

    deinit {
        // Only reached after the loop thread has returned (it holds a reference while running).
        // The multi handle first: cleaning it up may still report sockets to the reactor.
        if let multi { curl_multi_cleanup(multi) }
        ccurl_reactor_destroy(reactor)
    }

    // MARK: Called from any thread

    func submit(_ transfer: CurlTransfer) {
        if let startFailure {
            transfer.finish(.failed(.clientUnavailable(url: transfer.url, reason: startFailure)))
            return
        }
        lock.withLock { _ in commands.append(.add(transfer)) }
        ccurl_reactor_wakeup(reactor)
    }

    /// Stops a transfer whose consumer has gone. Safe before, during and after
    /// the transfer runs: a cancel that overtakes its submit is remembered on
    /// the transfer.
    func cancel(_ transfer: CurlTransfer) {
        guard startFailure == nil else { return }
        lock.withLock { _ in
            transfer.cancelRequested = true
            commands.append(.cancel(transfer))
        }
        ccurl_reactor_wakeup(reactor)
    }

    /// What the loop has read so far and how much of it was batched.
    var readStatistics: HTTPReadStatistics { lock.withLock { _ in statistics } }

    /// Asks the loop thread to fail what is left and exit.
    func shutdown() {
        guard startFailure == nil else { return }
        lock.withLock { _ in shuttingDown = true }
        ccurl_reactor_wakeup(reactor)
    }

    // MARK: The loop thread

    private func startThread() -> Int32 {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let error = pthread_create(
            &thread, &attributes,
            { context in
                #if canImport(Darwin)
                let loop = Unmanaged<CurlEventLoop>.fromOpaque(context).takeRetainedValue()
                #else
                let loop = Unmanaged<CurlEventLoop>.fromOpaque(context!).takeRetainedValue()
                #endif
                loop.run()
                return nil
            }, context)
        if error != 0 { Unmanaged<CurlEventLoop>.fromOpaque(context).release() }
        return error
    }

    private func run() {
        ccurl_name_current_thread("cellbook-http")
        var batch: [Command] = []
        var woken = true
        while true {
            // The lock is taken only when another thread has woken the loop, not per network read.
            if woken {
                let stop = lock.withLock { _ in
                    swap(&batch, &commands)  // both keep their capacity: no allocation per turn
                    return shuttingDown
                }
                for command in batch { apply(command) }
                batch.removeAll(keepingCapacity: true)
                if stop { break }
            }
            let flags = ccurl_reactor_turn(reactor, Self.idleWaitMilliseconds, awaitingBody > 0 ? 0 : periodNs)
            woken = flags & Int32(CCURL_TURN_WOKEN) != 0
            if turnBytes > 0 { account(held: flags & Int32(CCURL_TURN_HELD) != 0) }
            if flags & Int32(CCURL_TURN_IDLE) != 0 { restartMeter() }
            collectFinished()
        }

        for (easy, transfer) in active {
            curl_multi_remove_handle(multi, easy)
            transfer.finish(.failed(.clientUnavailable(url: transfer.url, reason: "the client was shut down")))
        }
        active.removeAll()
        let late = lock.withLock { _ -> [Command] in
            defer { commands.removeAll() }
            return commands
        }
        for case .add(let transfer) in late {
            transfer.finish(.failed(.clientUnavailable(url: transfer.url, reason: "the client was shut down")))
        }
    }

    /// Counts the turn's bytes and, every metering interval, sets the batching window from the
    /// inbound rate and the share of time spent servicing sockets (`ReadBatching`).
    private func account(held: Bool) {
        let bytes = turnBytes
        turnBytes = 0
        unpublished.bytes += bytes
        if held { unpublished.batchedBytes += bytes }
        guard batching.isEnabled else { return }
        let now = MonotonicClock.nanoseconds()
        if meterStartNs == 0 { meterStartNs = now }
        meterBytes += bytes
        let elapsed = now &- meterStartNs
        guard elapsed >= max(Self.meterIntervalNs, 4 * UInt64(periodNs)) else { return }
        let rate = Double(meterBytes) * 1e9 / Double(elapsed)
        let busyNow = ccurl_reactor_busy_ns(reactor)
        // Busy time is only measured near the threshold (two clock reads a turn are not free at
        // paced rates); the first interval after it starts counts as idle.
        let busy = measuringBusy ? Double(busyNow - meterBusyStartNs) / Double(elapsed) : 0
        periodNs = batching.nextWindow(bytesPerSecond: rate, busy: busy, current: periodNs)
        let measure = rate >= batching.thresholdBytesPerSecond / 2
        if measure != measuringBusy {
            measuringBusy = measure
            ccurl_reactor_measure_busy(reactor, measure ? 1 : 0)
        }
        unpublished.widestWindowNanoseconds = max(unpublished.widestWindowNanoseconds, periodNs)
        publishStatistics()
        meterBytes = 0
        meterStartNs = now
        meterBusyStartNs = busyNow
    }

    /// Adds what was counted since the last call to what `readStatistics` reports.
    private func publishStatistics() {
        guard unpublished != HTTPReadStatistics() else { return }
        let counted = unpublished
        unpublished = HTTPReadStatistics()
        lock.withLock { _ in
            statistics.bytes += counted.bytes
            statistics.batchedBytes += counted.batchedBytes
            statistics.widestWindowNanoseconds = max(statistics.widestWindowNanoseconds, counted.widestWindowNanoseconds)
        }
    }

    /// The transfer has its first body byte, or ended without one.
    func firstBody(of transfer: CurlTransfer) {
        guard transfer.awaitingBody else { return }
        transfer.awaitingBody = false
        awaitingBody -= 1
    }

    /// After a quiet turn: back to reading on arrival, and a fresh measurement when data comes.
    private func restartMeter() {
        periodNs = 0
        meterBytes = 0
        meterStartNs = 0
        meterBusyStartNs = ccurl_reactor_busy_ns(reactor)
    }

    private func apply(_ command: Command) {
        switch command {
        case .add(let transfer):
            if lock.withLock({ _ in transfer.cancelRequested }) {
                transfer.finish(.cancelled)
                return
            }
            let code = curl_multi_add_handle(multi, transfer.easy)
            guard code == CURLM_OK else {
                let reason = String(cString: curl_multi_strerror(code))
                transfer.finish(.failed(.transferFailed(url: transfer.url, curlCode: Int(code.rawValue), detail: reason)))
                return
            }
            active[transfer.easy] = transfer
            transfer.loop = self
            transfer.awaitingBody = true
            awaitingBody += 1
        case .cancel(let transfer):
            guard active.removeValue(forKey: transfer.easy) != nil else { return }
            firstBody(of: transfer)
            publishStatistics()
            curl_multi_remove_handle(multi, transfer.easy)
            transfer.finish(.cancelled)
        }
    }

    private func collectFinished() {
        var easy: UnsafeMutableRawPointer?
        var result = CURLE_OK
        while ccurl_multi_next_done(multi, &easy, &result) == 1 {
            guard let done = easy, let transfer = active.removeValue(forKey: done) else { continue }
            firstBody(of: transfer)
            publishStatistics()
            curl_multi_remove_handle(multi, done)
            transfer.complete(result)
        }
    }
}
