import Foundation

/// Where a running cell writes: the terminal (as the run goes) and the cell's log file
/// (what a cached replay shows). Everything passes the redactor first. Progress lines are
/// drawn in place on a terminal and throttled elsewhere; only their last state is logged.
public final class CellConsole: @unchecked Sendable {
    private let lock = NSLock()
    private let redactor: Redactor
    private let log: FileHandle?
    private let echo: Bool
    private let out: FileHandle
    private let isTTY: Bool
    private var progressShown = false
    private var lastProgressLine = ""
    private var lastProgressPrint = 0.0
    private var atLineStart = true
    public let indent = "  "

    public init(logPath: String?, redactor: Redactor, echo: Bool, toStandardError: Bool = false) {
        self.redactor = redactor
        self.echo = echo
        out = toStandardError ? FileHandle.standardError : FileHandle.standardOutput
        isTTY = isatty(toStandardError ? 2 : 1) == 1
        if let logPath {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            log = FileHandle(forWritingAtPath: logPath)
        } else {
            log = nil
        }
    }

    /// Writes text as it comes (a streamed answer, say); no newline is added.
    public func write(_ text: String) {
        let clean = redactor.redact(text)
        lock.lock()
        defer { lock.unlock() }
        clearProgressLocked()
        var shown = ""
        for ch in clean {
            if atLineStart && ch != "\n" { shown += indent }
            shown.append(ch)
            atLineStart = ch == "\n"
        }
        if echo { out.write(Data(shown.utf8)) }
        log?.write(Data(clean.utf8))
    }

    /// Writes one line.
    public func line(_ text: String = "") {
        lock.lock()
        let needsBreak = !atLineStart
        lock.unlock()
        write((needsBreak ? "\n" : "") + text + "\n")
    }

    /// Shows progress in place; `final` keeps the line and logs it.
    public func progress(_ text: String, final: Bool = false) {
        let clean = redactor.redact(text)
        lock.lock()
        defer { lock.unlock() }
        let now = ProcessInfo.processInfo.systemUptime
        if final {
            clearProgressLocked()
            if echo { out.write(Data((indent + clean + "\n").utf8)) }
            log?.write(Data((clean + "\n").utf8))
            lastProgressLine = ""
            return
        }
        lastProgressLine = clean
        guard echo else { return }
        if isTTY {
            out.write(Data(("\r\u{1B}[2K" + indent + clean).utf8))
            progressShown = true
        } else if now - lastProgressPrint >= 5 {
            // Logs and CI: a line every few seconds, not a flood.
            out.write(Data((indent + clean + "\n").utf8))
            lastProgressPrint = now
        }
    }

    private func clearProgressLocked() {
        if progressShown && echo {
            out.write(Data("\r\u{1B}[2K".utf8))
            progressShown = false
        }
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        clearProgressLocked()
        if !atLineStart {
            if echo { out.write(Data("\n".utf8)) }
            log?.write(Data("\n".utf8))
            atLineStart = true
        }
        try? log?.synchronize()
        try? log?.close()
    }
}
