import CellbookRecording
import Foundation
import Testing

@Suite struct RecordingFormatTests {
    @Test func aHeaderOnlyFileReadsBack() throws {
        let header = RecordingHeader(cellbookVersion: "0.1.0", playbook: .init(name: "p", title: "P", file: "p.yaml", sha256: "00", source: nil),
                                     target: "local", targetSettings: [:], params: ["a": 1], overrides: ["a=1"],
                                     startedAt: Date(timeIntervalSince1970: 0), cells: ["x"])
        let data = try RecordingCoding.encoder().encode(header) + Data("\n".utf8)
        let r = try Recording.parse(data, path: "mem")
        #expect(r.header == header)
        #expect(r.events.isEmpty)
    }
}
