import SystemKit
import CellbookRecording
import Foundation
import PlaybookModel

/// Writes a run's recording as it happens, one JSON line per event, so a run that is killed
/// still leaves what it showed. Every line passes the redactor after it is serialized, which
/// catches a secret in any string the line holds, in every form the redactor knows.
/// A write that fails (a full disk) ends recording and is reported once; the run goes on.
public final class Recorder: @unchecked Sendable {
    public let path: String
    private let redactor: Redactor
    private let encoder = RecordingCoding.encoder()
    private let lock = NSLock()
    private var fd: Int32
    private var problem: String?
    /// CLOCK_MONOTONIC at the start of the run, ns: every `t` is relative to it.
    public let startedAt: UInt64

    public init(path: String, redactor: Redactor, header: RecordingHeader) throws {
        self.path = path
        self.redactor = redactor
        startedAt = Recorder.now()
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw EngineError.environment("cannot create the recording's folder \(folder): \(SystemError.describe(error))")
            }
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw EngineError.environment("cannot write the recording \(path): \(String(cString: strerror(errno)))")
        }
        write(header)
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }

    /// Why recording stopped early, if it did.
    public var failure: String? { lock.withLock { problem } }

    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds since the run started, to the microsecond.
    public func offset(at monotonic: UInt64 = Recorder.now()) -> Double {
        (Double(Int64(bitPattern: monotonic &- startedAt)) / 1000).rounded() / 1_000_000
    }

    public func write(_ event: some Encodable) {
        guard let data = try? encoder.encode(event) else { return }
        let line = redactor.redact(String(decoding: data, as: UTF8.self)) + "\n"
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { return }
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                problem = "cannot write the recording \(path): \(String(cString: strerror(n < 0 ? errno : ENOSPC)))"
                Foundation.close(fd)
                fd = -1
                return
            }
            offset += n
        }
    }

    func printed(_ text: String, standardError: Bool) {
        write(RecordedPrint(t: offset(), fd: standardError ? "stderr" : "stdout", text: text))
    }

    /// Where a cell's HTTP exchanges go.
    public func exchanges(cell: String) -> ExchangeLog { ExchangeLog(recorder: self, cell: cell) }

    /// Flushes and closes; the recording is complete.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { return }
        if fsync(fd) != 0 && errno != EINVAL && problem == nil {
            problem = "cannot write the recording \(path): \(String(cString: strerror(errno)))"
        }
        Foundation.close(fd)
        fd = -1
    }

    /// Points `latest.jsonl` in the recording's folder at it (a relative symbolic link).
    public func markLatest() {
        let folder = (path as NSString).deletingLastPathComponent
        let link = "\(folder.isEmpty ? "." : folder)/latest.jsonl"
        let temporary = link + ".\(getpid()).tmp"
        unlink(temporary)
        guard symlink((path as NSString).lastPathComponent, temporary) == 0 else { return }
        if rename(temporary, link) != 0 { unlink(temporary) }
    }
}

/// A running cell's HTTP exchanges, handed to the cell through its context; the serving layer
/// fills them in (CellbookKinds adapts it to the HTTP client's observer).
public final class ExchangeLog: Sendable {
    let recorder: Recorder
    public let cell: String

    init(recorder: Recorder, cell: String) {
        self.recorder = recorder
        self.cell = cell
    }

    /// Records one finished exchange that started at `startedAt` (CLOCK_MONOTONIC ns).
    public func record(startedAt: UInt64, method: String, path: String, requestBody: String, status: Int?,
                       headers: [String: String], chunks: [RecordedExchange.Chunk], error: String?, endedAt: UInt64) {
        let duration = Double(Int64(bitPattern: endedAt &- startedAt)) / 1e9
        recorder.write(RecordedExchange(t: recorder.offset(at: startedAt), cell: cell, method: method, path: path,
                                        requestBody: requestBody, status: status, headers: headers, chunks: chunks,
                                        error: error, durationS: (duration * 1e6).rounded() / 1e6))
    }
}

/// The one way run output reaches the terminal: the run printer and every cell console write
/// here, and what is written is recorded (when recording) exactly as it was shown.
public final class RunOutput: Sendable {
    public let recorder: Recorder?

    public init(recorder: Recorder? = nil) {
        self.recorder = recorder
    }

    /// Shows text; a closed or full terminal stream must not crash the run.
    public func show(_ text: String, standardError: Bool) {
        guard !text.isEmpty else { return }
        try? (standardError ? FileHandle.standardError : FileHandle.standardOutput).write(contentsOf: Data(text.utf8))
        recorder?.printed(text, standardError: standardError)
    }
}
