import Foundation

/// Plays a recording's printed text back as it was shown, each piece at its recorded time
/// (divided by `speed`), or all at once. Only the output is played: nothing runs, nothing is
/// contacted.
public struct RecordingPlayer: Sendable {
    public var speed: Double
    /// false: print everything at once (`--no-wait`).
    public var wait: Bool
    /// A longer silence (in played time) is cut to this (a 12-minute SageMaker deploy in a
    /// workshop, say); nil keeps every pause.
    public var maxPause: Double?

    public init(speed: Double = 1, wait: Bool = true, maxPause: Double? = nil) {
        self.speed = speed
        self.wait = wait
        self.maxPause = maxPause
    }

    /// Shows each print event through `show(text, toStandardError)`, sleeping between them
    /// with `sleep(seconds)`. Returns the recorded seconds played. Stops early when the task is cancelled.
    @discardableResult
    public func play(_ recording: Recording, show: (String, Bool) -> Void,
                     sleep: (Double) async -> Void = { try? await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }) async -> Double {
        let start = ContinuousClock.now
        var last = 0.0
        var cut = 0.0  // played seconds removed from long pauses so far
        for event in recording.events {
            guard case .print(let p) = event else { continue }
            if Task.isCancelled { break }
            if wait {
                if let maxPause, (p.t - last) / speed > maxPause { cut += (p.t - last) / speed - maxPause }
                // Against the clock, not the previous sleep: slow terminals do not add up.
                let due = p.t / speed - cut
                let elapsed = ContinuousClock.now - start
                let ahead = due - (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                if ahead > 0.001 { await sleep(ahead) }
            }
            show(p.text, p.fd == "stderr")
            last = p.t
        }
        return last
    }
}
