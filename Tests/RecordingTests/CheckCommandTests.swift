import Foundation
import Testing

@Suite("cellbook check", .serialized)
struct CheckCommandTests {
    @Test("the committed recording checked on the replay target: exit 0, every cell matching (JSON)")
    func replayMatches() throws {
        let bin = try #require(cellbookBinary, "build cellbook first")
        let outputs = temporaryFolder("check-cli")
        defer { try? FileManager.default.removeItem(atPath: outputs) }
        let r = try runTool(["sh", "-c", "cd \"$0\" && \"$1\" check recordings/deploy-llama3-local.jsonl --target replay --speed 20 --format json --outputs \"$2\"",
                             repositoryRoot, bin, outputs])
        #expect(r.code == 0, "\(r.err.suffix(2000))")
        let report = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] ?? [:]
        #expect(report["matches"] as? Bool == true)
        #expect(report["target"] as? String == "replay")
        let cells = report["cells"] as? [[String: Any]] ?? []
        #expect(cells.compactMap { $0["id"] as? String } == ["setup", "hardware", "deploy", "chat", "benchmark", "cleanup"])
    }

    @Test("drift: exit 1 and a readable diff naming the cell")
    func driftExitsOne() throws {
        let bin = try #require(cellbookBinary, "build cellbook first")
        let dir = temporaryFolder("check-cli-drift")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "42\n".write(toFile: "\(dir)/answer.txt", atomically: true, encoding: .utf8)
        try """
            name: drift
            cells:
              - id: answer
                kind: shell
                with:
                  command: "echo '{\\"answer\\": \\"'$(cat answer.txt)'\\"}'"
                outputs: [answer]
                check:
                  stdout: ignore
            """.write(toFile: "\(dir)/pb.yaml", atomically: true, encoding: .utf8)
        let run = try runTool(["sh", "-c", "cd \"$0\" && \"$1\" run pb.yaml --record rec.jsonl", dir, bin])
        #expect(run.code == 0, "\(run.err)")
        let same = try runTool(["sh", "-c", "cd \"$0\" && \"$1\" check rec.jsonl", dir, bin])
        #expect(same.code == 0, "\(same.out)")
        #expect(same.out.contains("No drift: the cell matches the recording."))
        try "41\n".write(toFile: "\(dir)/answer.txt", atomically: true, encoding: .utf8)
        let drift = try runTool(["sh", "-c", "cd \"$0\" && \"$1\" check rec.jsonl", dir, bin])
        #expect(drift.code == 1)
        #expect(drift.out.contains("✗ answer: 1 difference"), "\(drift.out)")
        #expect(drift.out.contains("recorded: \"42\""), "\(drift.out)")
    }
}
