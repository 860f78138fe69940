@testable import ServingKit
import CellbookJSON
import Testing
@testable import LoadBench

struct StatisticsTests {
    @Test("quantiles are numpy/pandas linear interpolation (hand-computed values)")
    func linearInterpolation() {
        // numpy.quantile([1..10], q): position (n-1)q, interpolated between neighbours.
        let oneToTen = Distribution((1...10).map(Double.init))
        let expected = [3.25, 5.5, 7.75, 9.1, 9.55, 9.91]
        for (value, want) in zip(oneToTen.quantiles, expected) {
            #expect(abs(value - want) < 1e-12, "got \(value), want \(want)")
        }
        // Unsorted input with uneven spacing: sorted [0.5, 1.25, 3, 10], positions 3q.
        let uneven = Distribution([3.0, 0.5, 10.0, 1.25])
        let expectedUneven = [1.0625, 2.125, 4.75, 7.9, 8.95, 9.79]
        for (value, want) in zip(uneven.quantiles, expectedUneven) {
            #expect(abs(value - want) < 1e-12, "got \(value), want \(want)")
        }
        #expect(uneven.quantile("p50") == uneven.quantiles[1])
    }

    @Test("mean, min, max and the sample standard deviation (ddof = 1)")
    func moments() {
        let distribution = Distribution((1...10).map(Double.init))
        #expect(distribution.mean == 5.5)
        #expect(distribution.min == 1)
        #expect(distribution.max == 10)
        // sqrt(sum((x - 5.5)^2) / 9) = sqrt(82.5 / 9)
        #expect(abs(distribution.stddev - (82.5 / 9).squareRoot()) < 1e-12)
        #expect(distribution.count == 10)
    }

    @Test("one sample gives itself for every quantile and NaN stddev, as pandas does; none gives NaN")
    func degenerateSamples() {
        let single = Distribution([0.25])
        #expect(single.quantiles.allSatisfy { $0 == 0.25 })
        #expect(single.stddev.isNaN)
        let empty = Distribution([])
        #expect(empty.mean.isNaN && empty.min.isNaN && empty.quantiles.allSatisfy(\.isNaN))
        #expect(Distribution([.nan, 2, 4]).mean == 3)  // NaN dropped, like Series.dropna()
    }

    @Test("the in-place sort sorts, duplicates and all")
    func inPlaceSort() {
        var generator = SeededGenerator(seed: 5)
        for count in [0, 1, 2, 17, 100, 5000] {
            var values = (0..<count).map { _ in Double(generator.nextInt(below: 50)) + generator.nextUnitDouble() * 0.5 }
            values += values.prefix(count / 3)  // duplicates
            let expected = values.sorted()
            Statistics.sortInPlace(&values)
            #expect(values == expected)
        }
    }

    @Test("quantiles agree with Python's statistics.quantiles(method='inclusive') on random data")
    func agreesWithPython() async throws {
        var generator = SeededGenerator(seed: 99)
        let samples = (0..<257).map { _ in generator.nextGaussian(mean: 0.8, stddev: 0.3) }
        let list = samples.map { $0.description }.joined(separator: ",")
        let script = "import statistics; q = statistics.quantiles([\(list)], n=100, method='inclusive'); "
            + "print(' '.join(repr(q[i - 1]) for i in (25, 50, 75, 90, 95, 99))); "
            + "print(repr(statistics.stdev([\(list)])))"
        let (status, output) = try await runProcess(["python3", "-c", script])
        #expect(status == 0, "python failed: \(output)")
        let lines = output.split(separator: "\n")
        let python = lines[0].split(separator: " ").compactMap { Double($0) }
        let distribution = Distribution(samples)
        #expect(python.count == 6)
        for (ours, theirs) in zip(distribution.quantiles, python) {
            #expect(abs(ours - theirs) < 1e-12, "ours \(ours), Python \(theirs)")
        }
        let stdev = try #require(Double(lines[1]))
        #expect(abs(distribution.stddev - stdev) < 1e-12)
    }
}
