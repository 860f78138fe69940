import Foundation
import PlaybookModel

/// A recording is JSON lines: a header, then events in the order they happened, each with `t`,
/// its offset in seconds from the start of the run. Every line has a `type`; a reader skips
/// types it does not know, so later versions may add events without breaking older readers.
public enum RecordingFormat {
    public static let name = "cellbook-recording"
    public static let version = 1
}

/// The first line: what ran, where, with what.
public struct RecordingHeader: Codable, Sendable, Equatable {
    public var type = "header"
    public var format = RecordingFormat.name
    public var version = RecordingFormat.version
    public var cellbookVersion: String
    public var playbook: Playbook
    public var target: String
    public var targetSettings: [String: Value]
    /// Every param's value as the run used it, overrides applied.
    public var params: [String: Value]
    /// The `--set` overrides as given.
    public var overrides: [String]
    public var startedAt: Date
    /// Cell ids in playbook order (a replay knows the total before it starts).
    public var cells: [String]

    public struct Playbook: Codable, Sendable, Equatable {
        public var name: String
        public var title: String
        public var file: String
        /// SHA-256 of the playbook file as it was when the run started.
        public var sha256: String
        public var source: String?

        public init(name: String, title: String, file: String, sha256: String, source: String?) {
            self.name = name
            self.title = title
            self.file = file
            self.sha256 = sha256
            self.source = source
        }
    }

    public init(cellbookVersion: String, playbook: Playbook, target: String, targetSettings: [String: Value],
                params: [String: Value], overrides: [String], startedAt: Date, cells: [String]) {
        self.cellbookVersion = cellbookVersion
        self.playbook = playbook
        self.target = target
        self.targetSettings = targetSettings
        self.params = params
        self.overrides = overrides
        self.startedAt = startedAt
        self.cells = cells
    }

    enum CodingKeys: String, CodingKey {
        case type, format, version, playbook, target, params, overrides, cells
        case cellbookVersion = "cellbook_version"
        case targetSettings = "target_settings"
        case startedAt = "started_at"
    }
}

/// A cell begins: its narrative and the inputs it resolved (secrets as `[secret:NAME]`).
public struct RecordedCellStart: Codable, Sendable, Equatable {
    public var type = "cell"
    public var t: Double
    public var id: String
    public var title: String
    public var kind: String
    public var index: Int
    public var markdown: String?
    public var inputs: [String: Value]

    public init(t: Double, id: String, title: String, kind: String, index: Int, markdown: String?, inputs: [String: Value]) {
        self.t = t
        self.id = id
        self.title = title
        self.kind = kind
        self.index = index
        self.markdown = markdown
        self.inputs = inputs
    }
}

/// Text as it was shown on the terminal, escapes included.
public struct RecordedPrint: Codable, Sendable, Equatable {
    public var type = "print"
    public var t: Double
    /// `stdout` or `stderr`.
    public var fd: String
    public var text: String

    public init(t: Double, fd: String, text: String) {
        self.t = t
        self.fd = fd
        self.text = text
    }
}

/// One HTTP exchange of a chat or benchmark cell: the request as sent (no headers: they carry
/// credentials) and the response stream as the chat parser read it (after transfer coding and
/// any framing), each piece with its arrival time after the request started.
public struct RecordedExchange: Codable, Sendable, Equatable {
    public var type = "exchange"
    public var t: Double
    public var cell: String
    public var method: String
    /// The URL's path and query (the host and port differ from run to run).
    public var path: String
    public var requestBody: String
    public var status: Int?
    public var headers: [String: String]
    public var chunks: [Chunk]
    /// Why the exchange failed below HTTP, if it did.
    public var error: String?
    public var durationS: Double

    public struct Chunk: Codable, Sendable, Equatable {
        /// Seconds after the request started.
        public var dt: Double
        public var text: String

        public init(dt: Double, text: String) {
            self.dt = dt
            self.text = text
        }
    }

    public init(t: Double, cell: String, method: String, path: String, requestBody: String, status: Int?,
                headers: [String: String], chunks: [Chunk], error: String?, durationS: Double) {
        self.t = t
        self.cell = cell
        self.method = method
        self.path = path
        self.requestBody = requestBody
        self.status = status
        self.headers = headers
        self.chunks = chunks
        self.error = error
        self.durationS = durationS
    }

    /// The whole response body.
    public var responseBody: String { chunks.map(\.text).joined() }

    enum CodingKeys: String, CodingKey {
        case type, t, cell, method, path, status, headers, chunks, error
        case requestBody = "request_body"
        case durationS = "duration_s"
    }
}

/// A cell ends: how, with what outputs.
public struct RecordedCellEnd: Codable, Sendable, Equatable {
    public var type = "cell_end"
    public var t: Double
    public var id: String
    /// ok (ran), cached, failed, interrupted, skipped.
    public var status: String
    public var outputs: [String: Value]
    public var error: String?
    public var durationS: Double?

    public init(t: Double, id: String, status: String, outputs: [String: Value], error: String?, durationS: Double?) {
        self.t = t
        self.id = id
        self.status = status
        self.outputs = outputs
        self.error = error
        self.durationS = durationS
    }

    enum CodingKeys: String, CodingKey {
        case type, t, id, status, outputs, error
        case durationS = "duration_s"
    }
}

/// The last line of a run that finished (a killed run's recording has none).
public struct RecordedEnd: Codable, Sendable, Equatable {
    public var type = "end"
    public var t: Double
    public var exitCode: Int32
    public var elapsedS: Double

    public init(t: Double, exitCode: Int32, elapsedS: Double) {
        self.t = t
        self.exitCode = exitCode
        self.elapsedS = elapsedS
    }

    enum CodingKeys: String, CodingKey {
        case type, t
        case exitCode = "exit_code"
        case elapsedS = "elapsed_s"
    }
}

public enum RecordingEvent: Sendable, Equatable {
    case cellStart(RecordedCellStart)
    case print(RecordedPrint)
    case exchange(RecordedExchange)
    case cellEnd(RecordedCellEnd)
    case end(RecordedEnd)

    public var t: Double {
        switch self {
        case .cellStart(let e): e.t
        case .print(let e): e.t
        case .exchange(let e): e.t
        case .cellEnd(let e): e.t
        case .end(let e): e.t
        }
    }
}

public enum RecordingError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, line: Int, reason: String)
    case newerVersion(path: String, version: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read the recording \(path): \(reason)"
        case .malformed(let path, let line, let reason):
            "\(path):\(line): not a cellbook recording line: \(reason)"
        case .newerVersion(let path, let version):
            "\(path) is a recording of format version \(version); this cellbook reads up to \(RecordingFormat.version)\n"
                + "    hint: use a newer cellbook"
        }
    }
}

/// A recording read back: its header and its events in order, plus a per-cell view.
public struct Recording: Sendable {
    public var path: String
    public var header: RecordingHeader
    public var events: [RecordingEvent]

    /// One cell as recorded: start, what it printed, its exchanges, its end (nil if the run
    /// stopped inside it).
    public struct Cell: Sendable {
        public var start: RecordedCellStart
        public var prints: [RecordedPrint]
        public var exchanges: [RecordedExchange]
        public var end: RecordedCellEnd?

        /// What the cell printed, as one text.
        public var output: String { prints.map(\.text).joined() }
    }

    public var cells: [Cell] {
        var out: [Cell] = []
        for e in events {
            switch e {
            case .cellStart(let s): out.append(Cell(start: s, prints: [], exchanges: [], end: nil))
            case .print(let p) where !out.isEmpty && out[out.count - 1].end == nil: out[out.count - 1].prints.append(p)
            case .exchange(let x):
                if let i = out.lastIndex(where: { $0.start.id == x.cell }) { out[i].exchanges.append(x) }
            case .cellEnd(let end):
                if let i = out.lastIndex(where: { $0.start.id == end.id }) { out[i].end = end }
            default: break
            }
        }
        return out
    }

    public func cell(_ id: String) -> Cell? { cells.last { $0.start.id == id } }

    public var exchanges: [RecordedExchange] {
        events.compactMap { if case .exchange(let x) = $0 { x } else { nil } }
    }

    /// Only one cell's events, its times counted from its start (a short cast of the chat, say);
    /// nil when the recording has no such cell.
    public func only(_ cellID: String) -> Recording? {
        guard let first = events.firstIndex(where: { if case .cellStart(let s) = $0 { s.id == cellID } else { false } }) else { return nil }
        var picked: [RecordingEvent] = []
        let t0 = events[first].t
        for e in events[first...] {
            if case .cellStart(let s) = e, s.id != cellID { break }
            switch e {
            case .cellStart(var x): x.t -= t0; picked.append(.cellStart(x))
            case .print(var x): x.t -= t0; picked.append(.print(x))
            case .exchange(var x): x.t -= t0; picked.append(.exchange(x))
            case .cellEnd(var x):
                x.t -= t0
                picked.append(.cellEnd(x))
            case .end: break
            }
        }
        var header = self.header
        header.cells = [cellID]
        return Recording(path: path, header: header, events: picked)
    }

    public var end: RecordedEnd? {
        for e in events.reversed() { if case .end(let end) = e { return end } }
        return nil
    }

    public init(path: String, header: RecordingHeader, events: [RecordingEvent]) {
        self.path = path
        self.header = header
        self.events = events
    }

    public static func load(_ path: String) throws -> Recording {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RecordingError.unreadable(path: path, reason: (error as NSError).localizedFailureReason ?? "\(error)")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws -> Recording {
        let decoder = RecordingCoding.decoder()
        var header: RecordingHeader?
        var events: [RecordingEvent] = []
        struct Kind: Decodable { var type: String; var version: Int? }
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard !line.isEmpty else { continue }
            let bytes = Data(line)
            do {
                let kind = try decoder.decode(Kind.self, from: bytes)
                if header == nil {
                    guard kind.type == "header" else {
                        throw RecordingError.malformed(path: path, line: lineNumber, reason: "the first line must be the header")
                    }
                    if let v = kind.version, v > RecordingFormat.version { throw RecordingError.newerVersion(path: path, version: v) }
                    header = try decoder.decode(RecordingHeader.self, from: bytes)
                    continue
                }
                switch kind.type {
                case "cell": events.append(.cellStart(try decoder.decode(RecordedCellStart.self, from: bytes)))
                case "print": events.append(.print(try decoder.decode(RecordedPrint.self, from: bytes)))
                case "exchange": events.append(.exchange(try decoder.decode(RecordedExchange.self, from: bytes)))
                case "cell_end": events.append(.cellEnd(try decoder.decode(RecordedCellEnd.self, from: bytes)))
                case "end": events.append(.end(try decoder.decode(RecordedEnd.self, from: bytes)))
                default: continue
                }
            } catch let e as RecordingError {
                throw e
            } catch {
                // The last line of a killed run may be cut short: keep what came before it.
                if lineNumber > 1 && line.last != UInt8(ascii: "}") { break }
                throw RecordingError.malformed(path: path, line: lineNumber, reason: "\(error)")
            }
        }
        guard let header else { throw RecordingError.malformed(path: path, line: 1, reason: "the file is empty") }
        return Recording(path: path, header: header, events: events)
    }
}

/// One encoder and decoder setting for recordings: sorted keys (stable files), ISO 8601 dates.
public enum RecordingCoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
