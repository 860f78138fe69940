import SystemKit
import Foundation
import PlaybookModel

/// What the state file remembers about one cell.
public struct CellRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Executing now, or killed while executing (then no process holds the lock).
        case running
        case ok
        case failed
        /// Stopped by Ctrl-C or SIGTERM.
        case interrupted
    }

    public var status: Status
    public var kind: String
    public var cacheKey: String
    /// Resolved inputs with secrets replaced by `[secret:NAME]`.
    public var inputs: [String: Value]
    /// Upstream values this cell read, by reference ("cells.setup.bucket").
    public var reads: [String: Value]
    public var outputs: [String: Value]
    public var startedAt: Date
    public var finishedAt: Date?
    public var durationSeconds: Double?
    public var error: String?
    public var pid: Int32?
    /// Set when a later cell (cleanup) ended this cell's live resource: the outputs are kept
    /// as a record, but no longer describe something running.
    public var releasedBy: String?
    public var releasedAt: Date?
    /// The declared files and environment variables as they were when the cell ran.
    public var dependsOn: DependencySnapshot? = nil

    enum CodingKeys: String, CodingKey {
        case status, kind, inputs, reads, outputs, error, pid
        case dependsOn = "depends_on"
        case releasedBy = "released_by"
        case releasedAt = "released_at"
        case cacheKey = "cache_key"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case durationSeconds = "duration_s"
    }
}

/// The session state of one playbook on one target: every cell's record.
public struct SessionState: Codable, Sendable {
    public static let formatVersion = 1

    public var format: Int
    public var playbook: String
    public var target: String
    public var updatedAt: Date
    public var cells: [String: CellRecord]

    public init(playbook: String, target: String) {
        format = Self.formatVersion
        self.playbook = playbook
        self.target = target
        updatedAt = Date()
        cells = [:]
    }

    enum CodingKeys: String, CodingKey {
        case format, playbook, target, cells
        case updatedAt = "updated_at"
    }

    /// The published values of the session: each successful cell's outputs.
    public var values: [String: [String: Value]] {
        cells.filter { $0.value.status == .ok }.mapValues(\.outputs)
    }
}

/// The folder `outputs/<playbook>/<target>/`: state.json, the lock, and a folder per cell.
public struct StateStore: Sendable {
    public let outputsRoot: String
    public let directory: String

    /// A workshop session keeps its own state and cache beside the others':
    /// outputs/<playbook>/<target>/sessions/<session>/.
    public init(outputsRoot: String, playbook: String, target: String, session: String? = nil) {
        self.outputsRoot = outputsRoot
        directory = "\(outputsRoot)/\(playbook)/\(target)" + (session.map { "/sessions/\($0)" } ?? "")
    }

    /// Refuses a state folder that is not strictly inside the outputs folder. Validation keeps
    /// names to letters, digits, '-' and '_'; this holds even for a name that slipped past it.
    public func requireInsideOutputs() throws {
        guard Self.lies(directory, inside: outputsRoot) else {
            throw EngineError.usage("the state folder \(directory) is not inside the outputs folder \(outputsRoot)\n"
                + "    hint: playbook and target names may hold only letters, digits, '-' and '_'")
        }
    }

    /// Deletes `path` (a file or a folder) if it exists, after checking that it lies strictly
    /// inside the outputs folder: nothing outside it is ever deleted.
    public func remove(_ path: String) throws {
        guard Self.lies(path, inside: outputsRoot) else {
            throw EngineError.usage("refusing to delete \(path): it is not inside the outputs folder \(outputsRoot)")
        }
        guard FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw EngineError.environment("cannot delete \(path): \(SystemError.describe(error))")
        }
    }

    /// Whether `path` names something strictly below `root`, comparing the paths as written
    /// with '.' and '..' resolved (symbolic links are not followed: deleting a link deletes the link).
    static func lies(_ path: String, inside root: String) -> Bool {
        let p = lexicalComponents(path), r = lexicalComponents(root)
        return p.count > r.count && Array(p.prefix(r.count)) == r
    }

    private static func lexicalComponents(_ path: String) -> [String] {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var out: [String] = []
        for c in absolute.split(separator: "/") {
            switch c {
            case ".": continue
            case "..": if !out.isEmpty { out.removeLast() }
            default: out.append(String(c))
            }
        }
        return out
    }

    public var statePath: String { "\(directory)/state.json" }
    public var lockPath: String { "\(directory)/.lock" }
    public func cellDirectory(_ id: String) -> String { "\(directory)/cells/\(id)" }
    public func logPath(_ id: String) -> String { "\(cellDirectory(id))/log.txt" }

    public func load(playbook: String, target: String) throws -> SessionState {
        // No file: a fresh session. A file that cannot be read (permissions, a folder in its
        // place) is not the same thing: replacing it would throw away someone's state.
        guard FileManager.default.fileExists(atPath: statePath) else {
            return SessionState(playbook: playbook, target: target)
        }
        let data: Data
        do {
            data = try FileBytes.read(statePath, what: "the state file")
        } catch {
            throw EngineError.environment("\(error)")
        }
        do {
            let d = JSONDecoder()
            d.dateDecodingStrategy = .iso8601
            let state = try d.decode(SessionState.self, from: data)
            guard state.format == SessionState.formatVersion else {
                throw EngineError.corruptState(path: statePath, reason: "format \(state.format), expected \(SessionState.formatVersion)")
            }
            return state
        } catch let e as EngineError {
            throw e
        } catch {
            throw EngineError.corruptState(path: statePath, reason: "\(error)")
        }
    }

    public func save(_ state: SessionState) throws {
        var s = state
        s.updatedAt = Date()
        try AtomicFile.write(try JSONEncoder.pretty.encode(s), to: statePath)
    }

    public func readLog(_ id: String) -> String? {
        FileManager.default.contents(atPath: logPath(id)).map { String(decoding: $0, as: UTF8.self) }
    }
}
