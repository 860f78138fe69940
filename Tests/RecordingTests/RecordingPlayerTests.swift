import CellbookRecording
import Foundation
import Testing

@Suite("Recording player")
struct RecordingPlayerTests {
    static func recording(_ prints: [(Double, String)]) -> Recording {
        let header = RecordingHeader(cellbookVersion: "t", playbook: .init(name: "p", title: "p", file: "p", sha256: "", source: nil),
                                     target: "t", targetSettings: [:], params: [:], overrides: [], startedAt: Date(), cells: [])
        return Recording(path: "mem", header: header, events: prints.map { .print(RecordedPrint(t: $0.0, fd: "stdout", text: $0.1)) })
    }

    @Test("prints come in order at their recorded times, divided by the speed")
    func pace() async {
        let r = Self.recording([(0.0, "a"), (0.1, "b"), (0.25, "c")])
        var shown = ""
        let start = ContinuousClock.now
        var at: [Double] = []
        await RecordingPlayer(speed: 2).play(r) { text, _ in
            shown += text
            let d = ContinuousClock.now - start
            at.append(Double(d.components.attoseconds) / 1e18 + Double(d.components.seconds))
        }
        #expect(shown == "abc")
        // Never early; late only by scheduling on a busy machine.
        #expect(at[1] >= 0.049 && at[2] >= 0.124 && at[2] < 1, "\(at)")
    }

    @Test("--no-wait prints everything without sleeping")
    func noWait() async {
        let r = Self.recording([(0.0, "a"), (30, "b")])
        var slept = 0.0
        var shown = ""
        await RecordingPlayer(wait: false).play(r, show: { text, _ in shown += text }, sleep: { slept += $0 })
        #expect(shown == "ab")
        #expect(slept == 0)
    }

    @Test("--max-pause cuts long silences and keeps the short ones")
    func maxPause() async {
        let r = Self.recording([(0.0, "a"), (0.01, "b"), (600, "c"), (600.02, "d")])
        var slept = 0.0
        await RecordingPlayer(maxPause: 0.05).play(r, show: { _, _ in }, sleep: { slept += $0 })
        #expect(slept > 0.05 && slept < 0.2, "\(slept) s instead of 600")
    }
}
