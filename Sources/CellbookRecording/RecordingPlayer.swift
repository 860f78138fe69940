import Foundation

/// Plays a recording's printed text back as it was shown, each piece at its recorded time
/// (divided by `speed`), or all at once. Only the output is played: nothing runs, nothing is
/// contacted.
public struct RecordingPlayer: Sendable {
    public var speed: Double
    /// false: print everything at once (`--no-wait`).
    public var wait: Bool

    public init(speed: Double = 1, wait: Bool = true) {
        self.speed = speed
        self.wait = wait
    }

    /// Shows each print event through `show(text, toStandardError)`, sleeping between them
    /// with `sleep(seconds)`. Returns the recorded seconds played. Stops early when the task is cancelled.
    @discardableResult
    public func play(_ recording: Recording, show: (String, Bool) -> Void,
                     sleep: (Double) async -> Void = { try? await Task.sleep(nanoseconds: UInt64($0 * 1e9)) }) async -> Double {
        let start = ContinuousClock.now
        var last = 0.0
        for event in recording.events {
            guard case .print(let p) = event else { continue }
            if Task.isCancelled { break }
            if wait {
                // Against the clock, not the previous sleep: slow terminals do not add up.
                let due = p.t / speed
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
