import SystemKit
import CellbookHTTP

/// A snapshot of a running load test, handed to the caller's reporter about four times a second
/// and once more when the run ends.
public struct LoadProgress: Sendable, Equatable {
    /// Requests finished so far, errors included (llmperf counts them the same way).
    public var completed: Int
    /// Requests the run will send unless the timeout stops it first.
    public var target: Int
    public var errors: Int
    public var inFlight: Int
    /// Content chunks per second over the last second or so; one chunk is one token on the
    /// servers this targets (TGI, vLLM, llama.cpp stream a token per event).
    public var outputTokensPerSecond: Double
    public var elapsedSeconds: Double
    /// True on the last report.
    public var finished: Bool

    public init(completed: Int, target: Int, errors: Int, inFlight: Int, outputTokensPerSecond: Double,
                elapsedSeconds: Double, finished: Bool) {
        self.completed = completed
        self.target = target
        self.errors = errors
        self.inFlight = inFlight
        self.outputTokensPerSecond = outputTokensPerSecond
        self.elapsedSeconds = elapsedSeconds
        self.finished = finished
    }

    public var fractionDone: Double { target > 0 ? min(1, Double(completed) / Double(target)) : 1 }
}

/// Receives progress reports. Called from a background task: keep it quick and thread-safe.
public typealias LoadProgressReporter = @Sendable (LoadProgress) -> Void

public enum ProgressBarRenderer {
    /// One line, e.g. `[##########----------] 120/500 (24%)  errors 2  in flight 25  1834.5 tok/s  12.3 s`.
    public static func render(_ progress: LoadProgress, width: Int = 30) -> String {
        let width = max(1, width)
        let filled = Int((progress.fractionDone * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let percent = Int((progress.fractionDone * 100).rounded(.down))
        return "[\(bar)] \(progress.completed)/\(progress.target) (\(percent)%)"
            + "  errors \(progress.errors)"
            + "  in flight \(progress.inFlight)"
            + "  \(TextFormat.fixed(progress.outputTokensPerSecond, 1)) tok/s"
            + "  \(TextFormat.fixed(progress.elapsedSeconds, 1)) s"
            + (progress.finished ? "  done" : "")
    }
}

/// Live counters shared by all request tasks and read by the progress ticker.
final class RunTally: Sendable {
    struct State {
        var completed = 0
        var errors = 0
        var inFlight = 0
        var chunks = 0
        /// (time, chunks) samples for the rolling rate.
        var samples: [(UInt64, Int)] = []
    }

    private let state = Locked(State())
    let target: Int
    let startNs: UInt64

    init(target: Int, startNs: UInt64) {
        self.target = target
        self.startNs = startNs
    }

    func chunksReceived(_ count: Int) { state.withLock { $0.chunks += count } }
    func requestStarted() { state.withLock { $0.inFlight += 1 } }
    func requestFinished(failed: Bool) {
        state.withLock {
            $0.inFlight -= 1
            $0.completed += 1
            if failed { $0.errors += 1 }
        }
    }

    /// Takes a sample and returns the progress, with the rate over roughly the last second.
    func snapshot(now: UInt64, finished: Bool) -> LoadProgress {
        state.withLock { state in
            state.samples.append((now, state.chunks))
            while state.samples.count > 2, now - state.samples[1].0 >= 1_000_000_000 { state.samples.removeFirst() }
            let oldest = state.samples[0]
            let span = Double(now - oldest.0) / 1e9
            let rate = span > 0 ? Double(state.chunks - oldest.1) / span : 0
            return LoadProgress(completed: state.completed, target: target, errors: state.errors,
                                inFlight: state.inFlight, outputTokensPerSecond: rate,
                                elapsedSeconds: Double(now - startNs) / 1e9, finished: finished)
        }
    }
}
