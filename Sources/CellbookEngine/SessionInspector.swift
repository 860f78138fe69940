import SystemKit
import Foundation
import PlaybookModel

/// Reads session state for `list`, `show` and `state` without running anything.
public struct SessionInspector: Sendable {
    public let config: RunConfiguration
    public let store: StateStore
    /// For cells that depend on environment variables (`depends_on.env`).
    public let environment: [String: String]

    public init(config: RunConfiguration, outputsRoot: String, session: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.config = config
        self.environment = environment
        store = StateStore(outputsRoot: outputsRoot, playbook: config.playbook.name, target: config.target.name, session: session)
    }

    public enum Status: String, Codable, Sendable {
        case notRun = "not run", cached, stale, failed, interrupted, running
        /// Cached, but its live resource was ended by a later cell (cleanup): runs again when needed.
        case released
    }

    public struct Row: Codable, Sendable {
        public var index: Int
        public var id: String
        public var title: String
        public var kind: String
        public var status: Status
        public var lastDurationSeconds: Double?
        public var finishedAt: Date?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case index, id, title, kind, status, error
            case lastDurationSeconds = "last_duration_s"
            case finishedAt = "finished_at"
        }
    }

    public struct Detail: Codable, Sendable {
        public var id: String
        public var title: String
        public var kind: String
        public var status: Status
        public var inputs: [String: Value]
        public var reads: [String: Value]
        public var outputs: [String: Value]
        public var cacheKey: String?
        public var currentCacheKey: String?
        public var startedAt: Date?
        public var finishedAt: Date?
        public var durationSeconds: Double?
        public var error: String?
        public var log: String?
        public var logPath: String
        /// The declared files and variables as they were when the cell ran.
        public var dependsOn: DependencySnapshot?
        /// What changed in them since (why the cell would run again).
        public var dependencyChanges: [String]

        enum CodingKeys: String, CodingKey {
            case id, title, kind, status, inputs, reads, outputs, error, log
            case dependsOn = "depends_on"
            case dependencyChanges = "dependency_changes"
            case cacheKey = "cache_key"
            case currentCacheKey = "current_cache_key"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
            case durationSeconds = "duration_s"
            case logPath = "log_path"
        }
    }

    public func load() throws -> SessionState {
        try store.load(playbook: config.playbook.name, target: config.target.name)
    }

    /// The cache key the cell would have now, or nil when its upstream values are missing.
    func currentKey(_ cell: CellSpec, _ state: SessionState) -> String? {
        guard let r = try? CellResolver(config: config).resolve(cell, state: state) else { return nil }
        return r.cacheKey(for: cell, target: config.target, dependencies: snapshot(cell))
    }

    func snapshot(_ cell: CellSpec) -> DependencySnapshot? {
        cell.dependsOn.isEmpty ? nil : DependencySnapshot.take(cell.dependsOn, environment: environment)
    }

    func status(_ cell: CellSpec, _ state: SessionState, lockHeld: Bool) -> Status {
        guard let r = state.cells[cell.id] else { return .notRun }
        switch r.status {
        case .running: return lockHeld ? .running : .interrupted
        case .interrupted: return .interrupted
        case .failed: return .failed
        case .ok:
            guard currentKey(cell, state) == r.cacheKey else { return .stale }
            return r.releasedBy == nil ? .cached : .released
        }
    }

    /// Every cell's status in playbook order. A cached cell that read a cell which is not
    /// cached itself is stale: that upstream cell will run again and may change what it reads.
    func statuses(_ state: SessionState) -> [String: Status] {
        let held = FileLock.isHeld(path: store.lockPath)
        var out: [String: Status] = [:]
        for cell in config.playbook.cells {
            var st = status(cell, state, lockHeld: held)
            if st == .cached, let r = state.cells[cell.id] {
                let upstream = ResolvedInputs.cells(readIn: r.reads)
                // A released upstream cell keeps its values (a redeploy reuses its address).
                if upstream.contains(where: { out[$0] != .cached && out[$0] != .released }) { st = .stale }
            }
            out[cell.id] = st
        }
        return out
    }

    public func rows() throws -> [Row] {
        let state = try load()
        let statuses = statuses(state)
        return config.playbook.cells.enumerated().map { i, cell in
            let r = state.cells[cell.id]
            return Row(index: i + 1, id: cell.id, title: cell.title, kind: cell.kind, status: statuses[cell.id] ?? .notRun,
                       lastDurationSeconds: r?.durationSeconds, finishedAt: r?.finishedAt, error: r?.error)
        }
    }

    public func detail(_ id: String) throws -> Detail {
        guard let cell = config.playbook.cells.first(where: { $0.id == id }) else {
            throw EngineError.usage("no cell '\(id)' in \(config.playbook.file)\n    hint: \(suggestion(id, config.playbook.cells.map(\.id)))")
        }
        let state = try load()
        let r = state.cells[id]
        let current = try? CellResolver(config: config).resolve(cell, state: state, allowMissing: true)
        return Detail(id: id, title: cell.title, kind: cell.kind,
                      status: statuses(state)[id] ?? .notRun,
                      inputs: r?.inputs ?? current?.redacted ?? [:], reads: r?.reads ?? [:], outputs: r?.outputs ?? [:],
                      cacheKey: r?.cacheKey, currentCacheKey: currentKey(cell, state),
                      startedAt: r?.startedAt, finishedAt: r?.finishedAt, durationSeconds: r?.durationSeconds,
                      error: r?.error, log: store.readLog(id), logPath: store.logPath(id),
                      dependsOn: r?.dependsOn,
                      dependencyChanges: r.flatMap { record in snapshot(cell)?.changes(since: record.dependsOn ?? DependencySnapshot()) } ?? [])
    }

    /// Every published value, by cell, in playbook order.
    public func values() throws -> [(String, [String: Value])] {
        let values = try load().values
        return config.playbook.cells.compactMap { c in values[c.id].map { (c.id, $0) } }
    }

    /// Forgets one cell (its record and folder) or the whole session. Takes the lock.
    /// Returns false, having written nothing, when there was nothing stored to forget.
    @discardableResult
    public func reset(cell: String?) throws -> Bool {
        if let cell, config.playbook.cellIndex(cell) == nil {
            throw EngineError.usage("no cell '\(cell)' in \(config.playbook.file)\n    hint: \(suggestion(cell, config.playbook.cells.map(\.id)))")
        }
        try store.requireInsideOutputs()
        // A playbook that never ran on this target: no folder, and none is created for a lock.
        guard FileManager.default.fileExists(atPath: store.directory) else { return false }
        let lock = FileLock(path: store.lockPath)
        try lock.acquire(description: "cellbook reset")
        defer { lock.release() }
        if let cell {
            var state = try load()
            let folder = store.cellDirectory(cell)
            guard state.cells[cell] != nil || FileManager.default.fileExists(atPath: folder) else { return false }
            state.cells[cell] = nil
            try store.save(state)
            try store.remove(folder)
        } else {
            let stored = FileManager.default.fileExists(atPath: store.statePath)
                || FileManager.default.fileExists(atPath: "\(store.directory)/cells")
            guard stored else { return false }
            try store.remove(store.statePath)
            try store.remove("\(store.directory)/cells")
        }
        return true
    }
}
