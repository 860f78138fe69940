import Foundation

/// Where a running cell writes: the terminal (as the run goes) and the cell's log file
/// (what a cached replay shows). Everything passes the redactor first. Progress lines are
/// drawn in place on a terminal and throttled elsewhere; only their last state is logged.
public final class CellConsole: @unchecked Sendable {
    private let lock = NSLock()
    private let redactor: Redactor
    /// The cell's log file, or -1 (none, or a write failed).
    private var logFD: Int32 = -1
    private let logPath: String?
    /// The first write to the log that failed, in words: the runner fails the cell with it.
    private var logFailure: String?
    private let echo: Bool
    private let output: RunOutput
    private let toStandardError: Bool
    private let isTTY: Bool
    private var progressShown = false
    private var lastProgressLine = ""
    private var lastProgressPrint = 0.0
    private var atLineStart = true
    public let indent = "  "

    /// `output` is the run's one terminal stream (recorded when the run records).
    public init(logPath: String?, redactor: Redactor, echo: Bool, toStandardError: Bool = false, output: RunOutput = RunOutput()) {
        self.redactor = redactor
        self.echo = echo
        self.output = output
        self.toStandardError = toStandardError
        // Progress drawn in place needs a terminal that understands escapes.
        isTTY = isatty(toStandardError ? 2 : 1) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        self.logPath = logPath
        if let logPath {
            logFD = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if logFD < 0 { logFailure = "cannot write the cell's log \(logPath): \(String(cString: strerror(errno)))" }
        }
    }

    /// Why the cell's log could not be written (a full disk, say), or nil when all went well.
    public var failure: String? {
        lock.lock()
        defer { lock.unlock() }
        return logFailure
    }

    /// Appends to the log; the first failure is remembered and ends logging (the terminal
    /// still shows everything). Never traps, unlike FileHandle.write on a full disk.
    private func logLocked(_ text: String) {
        guard logFD >= 0, !text.isEmpty else { return }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(logFD, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                failLogLocked(n < 0 ? errno : ENOSPC)
                return
            }
            offset += n
        }
    }

    private func failLogLocked(_ code: Int32) {
        if logFailure == nil { logFailure = "cannot write the cell's log \(logPath ?? "?"): \(String(cString: strerror(code)))" }
        Foundation.close(logFD)
        logFD = -1
    }

    /// Writes to the terminal; a closed or full terminal stream must not crash the run.
    private func show(_ text: String) {
        output.show(text, standardError: toStandardError)
    }

    /// Text not yet shown because a secret may continue in the next write.
    private var heldBack = ""
    /// Bytes of an incomplete UTF-8 sequence, completed by the next chunk.
    private var partialUTF8 = Data()

    /// Writes raw output bytes (a child's stdout), joining UTF-8 sequences split across chunks.
    public func write(bytes: Data) {
        lock.lock()
        var data = partialUTF8 + bytes
        // Keep back a trailing incomplete sequence (at most 3 bytes).
        var cut = data.count
        var back = 0
        while back < min(3, data.count) {
            let b = data[data.startIndex + data.count - 1 - back]
            if b & 0xC0 == 0x80 { back += 1; continue }
            if b & 0x80 != 0 {
                let need = b & 0xE0 == 0xC0 ? 2 : b & 0xF0 == 0xE0 ? 3 : 4
                if back + 1 < need { cut = data.count - back - 1 }
            }
            break
        }
        partialUTF8 = data.suffix(from: data.startIndex + cut)
        data = data.prefix(cut)
        lock.unlock()
        write(String(decoding: data, as: UTF8.self))
    }

    /// Writes text as it comes (a streamed answer, say); no newline is added.
    public func write(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        var clean: String
        if redactor.isEmpty {
            clean = text
        } else {
            // Mask, then hold back a tail that could be the start of a secret split across writes
            // (unless a secret holds a line break, nothing before the last one needs holding).
            let masked = redactor.redact(heldBack + text)
            let lastBreak = redactor.spansLines ? nil : masked.lastIndex(of: "\n")
            let tailStart = lastBreak.map { masked.index(after: $0) } ?? masked.startIndex
            let hold = min(masked.distance(from: tailStart, to: masked.endIndex), redactor.longest - 1)
            clean = String(masked.dropLast(hold))
            heldBack = String(masked.suffix(hold))
        }
        emitLocked(clean)
    }

    private func emitLocked(_ clean: String) {
        guard !clean.isEmpty else { return }
        clearProgressLocked()
        var shown = ""
        for ch in clean {
            if atLineStart && ch != "\n" { shown += indent }
            shown.append(ch)
            atLineStart = ch == "\n"
        }
        if echo { show(shown) }
        logLocked(clean)
    }

    /// Writes one line.
    public func line(_ text: String = "") {
        lock.lock()
        let needsBreak = !atLineStart || !heldBack.isEmpty
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
            if echo { show(indent + clean + "\n") }
            logLocked(clean + "\n")
            lastProgressLine = ""
            return
        }
        lastProgressLine = clean
        guard echo else { return }
        if isTTY {
            show("\r\u{1B}[2K" + indent + clean)
            progressShown = true
        } else if now - lastProgressPrint >= 15 {
            // Logs and CI: a line every few seconds, not a flood.
            show(indent + clean + "\n")
            lastProgressPrint = now
        }
    }

    private func clearProgressLocked() {
        if progressShown && echo {
            show("\r\u{1B}[2K")
            progressShown = false
        }
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if !partialUTF8.isEmpty {
            heldBack += String(decoding: partialUTF8, as: UTF8.self)
            partialUTF8 = Data()
        }
        if !heldBack.isEmpty {
            let rest = redactor.redact(heldBack)
            heldBack = ""
            emitLocked(rest)
        }
        clearProgressLocked()
        if !atLineStart {
            if echo { show("\n") }
            logLocked("\n")
            atLineStart = true
        }
        if logFD >= 0 {
            // A full disk can surface only when the data reaches it.
            if fsync(logFD) != 0 && errno != EINVAL { failLogLocked(errno) }
            if logFD >= 0 && Foundation.close(logFD) != 0 && logFailure == nil {
                logFailure = "cannot write the cell's log \(logPath ?? "?"): \(String(cString: strerror(errno)))"
            }
            logFD = -1
        }
    }
}
