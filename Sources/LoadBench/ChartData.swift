/// The numbers behind the report's charts, computed apart from any drawing.
public struct Histogram: Sendable, Equatable {
    public var lowerBound: Double
    public var binWidth: Double
    public var counts: [Int]

    /// Equal-width bins from a rounded minimum to a rounded maximum; an empty sample gives no bins.
    public init(_ values: [Double], binCount: Int = 30) {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else {
            lowerBound = 0
            binWidth = 1
            counts = []
            return
        }
        let span = high - low
        let width = span > 0 ? ChartScale.niceStep(span / Double(max(1, binCount))) : max(abs(low) * 0.01, 1e-6)
        let start = (low / width).rounded(.down) * width
        let bins = max(1, Int(((high - start) / width).rounded(.down)) + 1)
        var counts = [Int](repeating: 0, count: bins)
        for value in finite {
            let bin = min(bins - 1, max(0, Int(((value - start) / width).rounded(.down))))
            counts[bin] += 1
        }
        lowerBound = start
        binWidth = width
        self.counts = counts
    }
}

/// Output tokens per second over the run, in equal time buckets, counted from chunk arrival times.
public struct ThroughputSeries: Sendable, Equatable {
    public var bucketSeconds: Double
    /// Tokens per second in each bucket, starting at the run's start.
    public var tokensPerSecond: [Double]

    public init(timelines: [RequestTimeline], runStartNs: UInt64, runEndNs: UInt64, targetBuckets: Int = 60) {
        let wall = Double(runEndNs &- runStartNs) / 1e9
        let bucket = max(0.1, ChartScale.niceStep(max(wall, 0.1) / Double(max(1, targetBuckets))))
        let count = max(1, Int((wall / bucket).rounded(.up)))
        // Integer nanoseconds, so a chunk exactly on a bucket edge lands in the later bucket.
        let bucketNs = max(1, UInt64((bucket * 1e9).rounded()))
        var tokens = [Double](repeating: 0, count: count)
        for timeline in timelines {
            for time in timeline.chunkTimesNs where time >= runStartNs {
                let index = min(count - 1, Int((time - runStartNs) / bucketNs))
                tokens[index] += 1
            }
        }
        bucketSeconds = bucket
        tokensPerSecond = tokens.map { $0 / bucket }
    }
}

enum ChartScale {
    /// The nearest "nice" step (1, 2 or 5 times a power of ten) at or above `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow10(floorLog10(raw))
        for factor in [1.0, 2.0, 5.0, 10.0] where factor * magnitude >= raw * 0.999_999 {
            return factor * magnitude
        }
        return 10 * magnitude
    }

    /// Ticks at nice steps covering 0...max, about `count` of them.
    static func ticks(upTo maximum: Double, count: Int = 5) -> [Double] {
        guard maximum > 0, maximum.isFinite else { return [0] }
        let step = niceStep(maximum / Double(count))
        var ticks: [Double] = []
        var value = 0.0
        while value <= maximum * 1.000_001 {
            ticks.append(value)
            value += step
        }
        return ticks
    }

    static func floorLog10(_ value: Double) -> Int {
        var exponent = 0
        var scaled = value
        while scaled >= 10 { scaled /= 10; exponent += 1 }
        while scaled < 1 { scaled *= 10; exponent -= 1 }
        return exponent
    }

    static func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        if exponent >= 0 { for _ in 0..<exponent { result *= 10 } } else { for _ in 0..<(-exponent) { result /= 10 } }
        return result
    }
}
