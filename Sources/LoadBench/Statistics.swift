/// The statistics llmperf's summary holds for one metric, computed the way pandas
/// computes them (`Series.quantile` with linear interpolation, `Series.std` with
/// ddof=1), so numbers match an llmperf run on the same samples.
public struct Distribution: Sendable, Equatable {
    /// The quantiles llmperf reports, in its order and with its key names.
    public static let reportedQuantiles: [(key: String, q: Double)] = [
        ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99),
    ]

    public var count: Int
    /// Values for `reportedQuantiles`, in the same order; NaN when there are no samples.
    public var quantiles: [Double]
    public var mean: Double
    public var min: Double
    public var max: Double
    /// Sample standard deviation (n - 1); NaN for fewer than two samples, as pandas gives.
    public var stddev: Double

    public init(_ samples: [Double]) {
        var values = samples
        self.init(sortingInPlace: &values)
    }

    /// Sorts `values` in place and summarises them: pooled chunk gaps can be millions of
    /// samples, so no copies are made.
    init(sortingInPlace values: inout [Double]) {
        if values.contains(where: \.isNaN) { values.removeAll(where: \.isNaN) }
        Statistics.sortInPlace(&values)
        count = values.count
        quantiles = Distribution.reportedQuantiles.map { Statistics.quantile(sorted: values, $0.q) }
        mean = Statistics.mean(values)
        min = values.first ?? .nan
        max = values.last ?? .nan
        stddev = Statistics.sampleStandardDeviation(values)
    }

    public func quantile(_ key: String) -> Double {
        guard let index = Distribution.reportedQuantiles.firstIndex(where: { $0.key == key }) else { return .nan }
        return quantiles[index]
    }
}

public enum Statistics {
    /// numpy's default ("linear", type 7) quantile of ascending `sorted` values:
    /// position h = (n - 1) q, then interpolate between the neighbours of h with
    /// numpy's `_lerp`, which switches form at t = 0.5 to stay monotonic.
    public static func quantile(sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        guard sorted.count > 1 else { return sorted[0] }
        let position = Double(sorted.count - 1) * q
        let lowerIndex = Swift.max(0, Swift.min(sorted.count - 1, Int(position.rounded(.down))))
        let upperIndex = Swift.min(sorted.count - 1, lowerIndex + 1)
        let t = position - Double(lowerIndex)
        return lerp(sorted[lowerIndex], sorted[upperIndex], t)
    }

    /// Ascending sort without the scratch buffer the standard library's (stable) sort
    /// allocates: quicksort with median-of-three pivots, insertion sort for short runs, and
    /// recursion on the smaller side only, so the stack stays O(log n). NaN-free input only.
    static func sortInPlace(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { buffer in
            quicksort(buffer, 0, buffer.count - 1)
        }
    }

    private static func quicksort(_ a: UnsafeMutableBufferPointer<Double>, _ lowStart: Int, _ highStart: Int) {
        var low = lowStart
        var high = highStart
        while high - low > 16 {
            let middle = low + (high - low) / 2
            if a[middle] < a[low] { a.swapAt(middle, low) }
            if a[high] < a[low] { a.swapAt(high, low) }
            if a[high] < a[middle] { a.swapAt(high, middle) }
            let pivot = a[middle]
            var i = low
            var j = high
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if j - low < high - i {
                quicksort(a, low, j)
                low = i
            } else {
                quicksort(a, i, high)
                high = j
            }
        }
        if high > low {
            for index in (low + 1)...high {
                let value = a[index]
                var position = index - 1
                while position >= low && a[position] > value {
                    a[position + 1] = a[position]
                    position -= 1
                }
                a[position + 1] = value
            }
        }
    }

    static func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
        let difference = b - a
        return t >= 0.5 ? b - difference * (1 - t) : a + difference * t
    }

    public static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        return pairwiseSum(values[...]) / Double(values.count)
    }

    /// ddof = 1, computed around the mean in two passes for accuracy.
    public static func sampleStandardDeviation(_ values: [Double]) -> Double {
        guard values.count > 1 else { return .nan }
        let average = mean(values)
        let squares = pairwiseSum(values[...]) { ($0 - average) * ($0 - average) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// Pairwise summation, as numpy uses, keeps rounding error at O(log n).
    static func pairwiseSum(_ values: ArraySlice<Double>, _ transform: (Double) -> Double = { $0 }) -> Double {
        if values.count <= 8 { return values.reduce(0) { $0 + transform($1) } }
        let middle = values.startIndex + values.count / 2
        return pairwiseSum(values[..<middle], transform) + pairwiseSum(values[middle...], transform)
    }
}
