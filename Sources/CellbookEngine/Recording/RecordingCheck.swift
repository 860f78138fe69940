import CellbookRecording
import Foundation
import PlaybookModel

/// `cellbook check`: a new run's cell outcomes against a recording, by each cell's check rules.
public struct RecordingCheck: Sendable {
    public var recording: Recording
    public var playbook: Playbook

    public init(recording: Recording, playbook: Playbook) {
        self.recording = recording
        self.playbook = playbook
    }

    /// One cell's verdict.
    public struct CellVerdict: Sendable, Encodable {
        public var id: String
        public var drifts: [OutputDrift]
        public var matches: Bool { drifts.isEmpty }

        enum CodingKeys: String, CodingKey { case id, matches, drifts }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(matches, forKey: .matches)
            try c.encode(drifts, forKey: .drifts)
        }
    }

    /// `cellbook check --format json`.
    public struct Report: Encodable {
        public var recording: String
        public var target: String
        public var matches: Bool
        public var runExitCode: Int32
        public var cells: [CellVerdict]

        public init(recording: String, target: String, runExitCode: Int32, cells: [CellVerdict]) {
            self.recording = recording
            self.target = target
            self.runExitCode = runExitCode
            self.cells = cells
            matches = cells.allSatisfy { $0.drifts.isEmpty }
        }

        enum CodingKeys: String, CodingKey {
            case recording, target, matches, cells
            case runExitCode = "run_exit_code"
        }
    }

    /// Every recorded cell that finished, compared with the run's outcome for it.
    public func compare(_ summary: RunSummary) -> [CellVerdict] {
        var verdicts: [CellVerdict] = []
        for cell in recording.cells {
            guard let end = cell.end, ["ran", "cached", "failed"].contains(end.status) else { continue }
            let id = cell.start.id
            let recordedOK = end.status != "failed"
            guard let outcome = summary.cells.last(where: { $0.id == id }) else {
                verdicts.append(CellVerdict(id: id, drifts: [OutputDrift(cell: id, output: nil, rule: "status", recorded: .string(end.status),
                                                                         now: nil, why: "the cell did not run now")]))
                continue
            }
            let nowOK = outcome.status == .ran || outcome.status == .cached
            if recordedOK != nowOK {
                var why = nowOK ? "it failed when recorded and succeeds now" : "it succeeded when recorded and \(outcome.status.rawValue) now"
                if let e = outcome.error { why += ": \(e.split(separator: "\n").first ?? "")" }
                verdicts.append(CellVerdict(id: id, drifts: [OutputDrift(cell: id, output: nil, rule: "status", recorded: .string(end.status),
                                                                         now: .string(outcome.status.rawValue), why: why)]))
                continue
            }
            let check = playbook.cells.first { $0.id == id }?.check ?? CellCheck()
            verdicts.append(CellVerdict(id: id, drifts: OutputComparison.compare(cell: id, recorded: end.outputs,
                                                                                 now: outcome.outputs ?? [:], check: check)))
        }
        return verdicts
    }

    /// The report a reader sees: a line per cell, the differences under each drifting one.
    public static func report(_ verdicts: [CellVerdict], recordingPath: String) -> String {
        var out = "\nCheck against \(recordingPath):\n"
        for v in verdicts {
            if v.matches {
                out += "  ✓ \(v.id)\n"
            } else {
                out += "  ✗ \(v.id): \(v.drifts.count) difference\(v.drifts.count == 1 ? "" : "s")\n"
                for d in v.drifts { out += "    - " + d.description.replacingOccurrences(of: "\n", with: "\n  ") + "\n" }
            }
        }
        let drifting = verdicts.filter { !$0.matches }
        out += drifting.isEmpty ? "No drift: \(verdicts.count == 1 ? "the cell matches" : "all \(verdicts.count) cells match") the recording.\n"
                                : "Drift in \(drifting.count) of \(verdicts.count) cells: \(drifting.map { "'\($0.id)'" }.joined(separator: ", ")).\n"
        return out
    }
}
