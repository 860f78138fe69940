#if canImport(Glibc)
import CellbookJSON
import ServingKit
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// xoshiro256** seeded through SplitMix64: the same seed gives the same prompts
/// and arrival times on every platform and Swift version.
///
/// The standard library's `shuffle(using:)` and `random(in:using:)` may change
/// their algorithms between releases, so the draws that decide a run (bounded
/// integers, shuffles, normal and exponential variates) are implemented here.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitmix = SplitMix64(state: seed)
        state = (splitmix.next(), splitmix.next(), splitmix.next(), splitmix.next())
    }

    /// A generator for an independent purpose derived from the same seed, so that
    /// e.g. changing the arrival rate does not change the prompts.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform integer in 0..<bound, unbiased (rejection on the top of the range).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let limit = UInt64(bound)
        let threshold = (0 &- limit) % limit
        while true {
            let value = next()
            if value >= threshold { return Int(value % limit) }
        }
    }

    /// Standard normal by Box–Muller (one value per call, so the stream of draws is simple to reason about).
    public mutating func nextGaussian(mean: Double, stddev: Double) -> Double {
        var u1 = nextUnitDouble()
        while u1 <= .leastNormalMagnitude { u1 = nextUnitDouble() }
        let u2 = nextUnitDouble()
        let radius = (-2.0 * log(u1)).squareRoot()
        return mean + stddev * radius * cos(2.0 * Double.pi * u2)
    }

    /// llmperf's `sample_random_positive_int`: `int(gauss(mean, stddev))`, redrawn until positive.
    /// With `stddev == 0` the mean comes back unchanged; a non-positive mean with no spread is an input
    /// error the config check rejects first, but a cap keeps this from spinning regardless.
    public mutating func nextPositiveInt(mean: Double, stddev: Double) -> Int {
        for _ in 0..<10_000 {
            let value = Int(nextGaussian(mean: mean, stddev: stddev).rounded(.towardZero))
            if value > 0 { return value }
        }
        return 1
    }

    /// Exponential variate with the given rate (events per unit time): Poisson inter-arrival gaps.
    public mutating func nextExponential(rate: Double) -> Double {
        var u = nextUnitDouble()
        while u <= .leastNormalMagnitude { u = nextUnitDouble() }
        return -log(u) / rate
    }

    /// Fisher–Yates.
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            let other = nextInt(below: index + 1)
            if other != index { values.swapAt(index, other) }
        }
    }
}

@inline(__always)
private func rotateLeft(_ value: UInt64, _ amount: UInt64) -> UInt64 {
    (value << amount) | (value >> (64 - amount))
}

struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
