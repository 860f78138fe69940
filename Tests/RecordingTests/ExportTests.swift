import CellbookRecording
import Foundation
import RecordingExport
import SystemKit
import Testing

/// The repository's root (tests read the committed recording from it).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let committedRecording = "\(repositoryRoot)/recordings/deploy-llama3-local.jsonl"

/// The venv `make test-tools` fills (nbformat, asciinema), else the Python on PATH.
let exportTestPython: String = {
    let env = ProcessInfo.processInfo.environment
    if let p = env["CELLBOOK_TEST_PYTHON"], !p.isEmpty { return p }
    let venv = "\(env["HOME"] ?? "")/.cache/cellbook/test-venv/bin/python"
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
}()

/// Runs a program; returns its exit code and what it printed (stdout then stderr).
func runTool(_ arguments: [String], timeout: Double = 120) throws -> (code: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("Exports of the committed recording", .serialized)
struct ExportTests {
    static func recording() throws -> Recording { try Recording.load(committedRecording) }

    static func write(_ format: ExportFormat) throws -> String {
        let dir = NSTemporaryDirectory() + "cellbook-export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/run.\(format.fileExtension)"
        try format.render(try recording()).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("Markdown: the narrative, each cell's inputs, output and values, no terminal escapes")
    func markdown() throws {
        let md = MarkdownExport.render(try Self.recording())
        #expect(md.hasPrefix("# Deploy Llama 3 on Amazon SageMaker\n"))
        #expect(md.contains("## 4. Run inference and chat with the model"))
        #expect(md.contains("**`chat`** · Chat with the model · chat · ran"))
        #expect(md.contains("assistant: Deep learning"))
        #expect(md.contains("\"completed_requests\" : 40"))
        #expect(!md.contains("\u{1B}"))
    }

    @Test("Jupyter: nbformat reads and validates it; markdown and code cells with cellbook's metadata")
    func notebook() throws {
        let path = try Self.write(.ipynb)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let script = """
            import json, sys, nbformat
            nb = nbformat.read(sys.argv[1], as_version=4)
            nbformat.validate(nb)
            kinds = [c.cell_type for c in nb.cells]
            code = [c for c in nb.cells if c.cell_type == "code"]
            print(json.dumps({"minor": nb.nbformat_minor, "markdown": kinds.count("markdown"), "code": len(code),
                              "ids": [c.metadata["cellbook"]["id"] for c in code],
                              "chat": "".join(o.get("text", "") for c in code if c.metadata["cellbook"]["id"] == "chat" for o in c.outputs)}))
            """
        let r = try runTool([exportTestPython, "-c", script, path])
        #expect(r.code == 0, "nbformat: \(r.err)")
        let facts = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any] ?? [:]
        #expect(facts["minor"] as? Int == 5)
        #expect(facts["ids"] as? [String] == ["setup", "hardware", "deploy", "chat", "benchmark", "cleanup"])
        #expect((facts["markdown"] as? Int ?? 0) >= 7)
        #expect((facts["chat"] as? String ?? "").contains("assistant: Deep learning"))
    }

    @Test("asciicast v2: asciinema cat plays it back; a marker per cell; times never go back")
    func cast() throws {
        let path = try Self.write(.cast)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let r = try runTool([exportTestPython, "-m", "asciinema", "cat", path])
        #expect(r.code == 0, "asciinema cat: \(r.err)")
        #expect(r.out.contains("assistant: Deep learning"))
        #expect(r.out.contains("Summary: 6 cells"))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst()
        let events = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any] }
        #expect(events.count == lines.count)
        #expect(events.filter { $0[1] as? String == "m" }.count == 6)
        let times = events.compactMap { $0[0] as? Double }
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test("one cell alone: a short cast of the chat starts at 0 with its marker")
    func onlyChat() throws {
        let chat = try #require(try Self.recording().only("chat"))
        #expect(chat.cells.map(\.start.id) == ["chat"])
        let cast = CastExport.render(chat)
        let events = cast.split(separator: "\n").dropFirst().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any] }
        #expect(events.first?[0] as? Double == 0)
        #expect(events.first?[1] as? String == "m")
        #expect(events.filter { $0[1] as? String == "m" }.count == 1)
        #expect(cast.contains("assistant: "))
        #expect(try Self.recording().only("nope") == nil)
    }

    @Test("HTML: one offline page; headless Chromium loads it without console errors and takes a screenshot")
    func html() throws {
        let path = try Self.write(.html)
        let dir = (path as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let page = try String(contentsOfFile: path, encoding: .utf8)
        #expect(page.contains("<svg"), "the benchmark's charts are inline")
        #expect(!page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("<script"), "no external assets, no scripts")
        guard (try? runTool(["sh", "-c", "command -v chromium"]).code) == 0 else {
            Issue.record("chromium is not installed (make test-tools installs it)")
            return
        }
        let shot = "\(dir)/page.png"
        let r = try runTool(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                             "--window-size=1200,2400", "--screenshot=\(shot)", "file://\(path)"])
        #expect(r.code == 0, "chromium: \(r.err)")
        let consoleErrors = r.err.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("ERR_FILE_NOT_FOUND") }
        #expect(consoleErrors.isEmpty, "\(consoleErrors)")
        let size = (try? FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int) ?? 0
        #expect(size > 10_000, "the screenshot \(shot) is \(size) bytes")
        let dom = try runTool(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://\(path)"])
        #expect(dom.out.contains("Deploy Llama 3 on Amazon SageMaker"))
        #expect(dom.out.contains("cell-benchmark"))
    }
}
