#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import CellbookHTTP

/// Time for the run: CellbookHTTP's `MonotonicClock` (CLOCK_MONOTONIC ns), the clock chunk
/// arrival times are stamped with and the one Python's `time.monotonic_ns()` reads on Linux,
/// so every timestamp in a run, client or fake server, compares directly.
/// (Swift's `ContinuousClock` reads CLOCK_BOOTTIME on Linux, another origin.)
enum RunClock {
    @inline(__always)
    static func now() -> UInt64 { MonotonicClock.nanoseconds() }

    /// Sleeps until the monotonic time `deadline`; returns early if the task is cancelled.
    static func sleep(until deadline: UInt64) async {
        let current = now()
        guard deadline > current else { return }
        try? await Task.sleep(nanoseconds: deadline - current)
    }

    /// Wall-clock seconds since 1970, for the summary's `timestamp`.
    static func unixTime() -> Int {
        Int(time(nil))
    }
}

/// A value behind a mutex. Used for counters every stream touches (progress), where an actor
/// hop per chunk would cost more than the work it guards.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
