#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import CellbookHTTP
import CellbookJSON
import ServingKit

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
