import SystemKit
import CellbookRecording
import Foundation
import PlaybookModel

public struct RunOptions: Sendable {
    public var only: String?
    public var from: String?
    public var until: String?
    public var step = false
    public var force = false
    public var noCache = false
    public var dryRun = false
    /// Machine-readable summary on stdout; cell output goes to stderr.
    public var json = false
    /// How `--step` reads answers (stdin by default; tests pass their own).
    public var readAnswer: @Sendable () -> String? = { readLine() }
    /// In JSON mode, print the run's summary on stdout (off for a command that prints its own JSON).
    public var jsonSummary = true
    /// Record the run (nil: do not). A run that keeps state records by default.
    public var recording: RecordingOptions?

    public init() {}
}

/// What happened to one cell in a run.
public struct CellOutcome: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case ran, cached, failed, interrupted, skipped, wouldRun = "would-run", mayRun = "may-run" }
    public var id: String
    public var title: String
    public var kind: String
    public var status: Status
    public var durationSeconds: Double?
    public var outputs: [String: Value]?
    public var error: String?
    public var inputs: [String: Value]?

    enum CodingKeys: String, CodingKey {
        case id, title, kind, status, outputs, error, inputs
        case durationSeconds = "duration_s"
    }
}

/// What a recording of the run holds besides the run itself, and where it goes.
public struct RecordingOptions: Sendable {
    /// Where to write it; nil: `outputs/<playbook>/<target>/recordings/<time>.jsonl`, with
    /// `latest.jsonl` beside it (only for a run that keeps state).
    public var path: String?
    public var cellbookVersion: String
    /// The `--set` overrides as given.
    public var overrides: [String]

    public init(path: String?, cellbookVersion: String, overrides: [String]) {
        self.path = path
        self.cellbookVersion = cellbookVersion
        self.overrides = overrides
    }
}

public struct RunSummary: Codable, Sendable {
    public var playbook: String
    public var target: String
    public var cells: [CellOutcome]
    public var elapsedSeconds: Double
    public var exitCode: Int32
    /// Where the run was recorded, if it was.
    public var recording: String?

    enum CodingKeys: String, CodingKey {
        case playbook, target, cells, recording
        case elapsedSeconds = "elapsed_s"
        case exitCode = "exit_code"
    }
}

/// Runs the cells of a validated playbook in order, serving unchanged cells from cache.
public final class PlaybookRunner: @unchecked Sendable {
    public let config: RunConfiguration
    public let kinds: [String: any CellKind.Type]
    public let store: StateStore
    public let cacheDirectory: String
    public let environment: [String: String]
    /// The workshop session (`--session`), nil outside sessions.
    public let session: String?
    private let redactor: Redactor
    private let resolver: CellResolver

    public init(config: RunConfiguration, kinds: [any CellKind.Type], outputsRoot: String,
                cacheDirectory: String, environment: [String: String], session: String? = nil) {
        self.config = config
        self.kinds = Dictionary(kinds.map { ($0.schema.name, $0) }, uniquingKeysWith: { a, _ in a })
        store = StateStore(outputsRoot: outputsRoot, playbook: config.playbook.name, target: config.target.name, session: session)
        self.session = session
        self.cacheDirectory = cacheDirectory
        self.environment = environment
        redactor = Redactor(secrets: config.secretValues)
        resolver = CellResolver(config: config)
    }

    private var cells: [CellSpec] { config.playbook.cells }

    /// The indices the options select, or a usage error naming the unknown cell.
    public func selection(_ o: RunOptions) throws -> ClosedRange<Int>? {
        func index(_ id: String, _ flag: String) throws -> Int {
            guard let i = config.playbook.cellIndex(id) else {
                throw EngineError.usage("\(flag) \(id): no such cell in \(config.playbook.file)\n    hint: \(suggestion(id, cells.map(\.id)))")
            }
            return i
        }
        guard !cells.isEmpty else { return nil }
        if let only = o.only {
            if o.from != nil || o.until != nil { throw EngineError.usage("--only cannot be combined with --from or --until") }
            let i = try index(only, "--only")
            return i...i
        }
        let lo = try o.from.map { try index($0, "--from") } ?? 0
        let hi = try o.until.map { try index($0, "--until") } ?? cells.count - 1
        guard lo <= hi else { throw EngineError.usage("--from \(o.from!) comes after --until \(o.until!)") }
        return lo...hi
    }

    public func run(_ o: RunOptions) async throws -> RunSummary {
        let started = Date()
        let range = try selection(o)
        try store.requireInsideOutputs()
        let lock = FileLock(path: store.lockPath)
        // --no-cache and --dry-run keep no state, so they take no lock and write nothing under outputs/.
        let persist = !o.dryRun && !o.noCache
        if persist {
            try lock.acquire(description: "cellbook run \(config.playbook.name) --target \(config.target.name)")
        }
        defer { lock.release() }
        let scratch = o.noCache ? NSTemporaryDirectory() + "cellbook-no-cache-\(getpid())" : nil
        // A throwaway run leaves nothing behind, in outputs/ or here.
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let trap = SignalTrap()
        defer { trap.cancel() }
        var state = try store.load(playbook: config.playbook.name, target: config.target.name)
        // A record left "running" by a killed process is an interrupted cell.
        for (id, r) in state.cells where r.status == .running {
            state.cells[id]?.status = .interrupted
            state.cells[id]?.error = "interrupted: the process running it stopped before the cell finished"
        }
        let recorder = try makeRecorder(o, persist: persist)
        var printer = RunPrinter(json: o.json)
        printer.output = RunOutput(recorder: recorder)
        printer.header(config, store: store, dryRun: o.dryRun)

        var outcomes: [CellOutcome] = []
        var cellStarted: [String: Double] = [:]
        /// Every cell's end goes into the recording with the outcome.
        func conclude(_ outcome: CellOutcome) {
            outcomes.append(outcome)
            guard let recorder else { return }
            recorder.write(RecordedCellEnd(t: recorder.offset(), id: outcome.id, status: outcome.status.rawValue,
                                           outputs: outcome.outputs ?? [:], error: outcome.error,
                                           durationS: outcome.durationSeconds ?? cellStarted[outcome.id].map { recorder.offset() - $0 }))
        }
        var exitCode: Int32 = 0
        // --dry-run: cells that would run, and cells that run only if an upstream cell that
        // runs publishes values different from those they last read.
        var wouldRun: Set<String> = [], mayRun: Set<String> = []
        var answered = false  // --step: whether any answer was read
        cellLoop: for (i, cell) in cells.enumerated() {
            guard let range, range.contains(i) else { continue }
            if trap.stopRequested {
                printer.line("Interrupted before cell '\(cell.id)'; the next run continues from here.")
                exitCode = 130
                break
            }
            guard let kindType = kinds[cell.kind] else { throw EngineError.usage("unknown kind '\(cell.kind)'") }
            let resolved = try resolver.resolve(cell, state: state, allowMissing: o.dryRun || o.step)
            if let recorder {
                let t = recorder.offset()
                cellStarted[cell.id] = t
                recorder.write(RecordedCellStart(t: t, id: cell.id, title: cell.title, kind: cell.kind, index: i,
                                                 markdown: cell.markdown, inputs: resolved.redacted))
            }
            if o.step && !resolved.missing.isEmpty {
                // A reader who skipped an upstream cell: say why this one cannot run, and go on.
                printer.narrative(cell)
                printer.note("skipping '\(cell.id)': it needs values from \(resolved.missing.map { "'\($0)'" }.joined(separator: ", ")), which did not run")
                conclude(CellOutcome(id: cell.id, title: cell.title, kind: cell.kind, status: .skipped))
                continue
            }
            let snapshot = cell.dependsOn.isEmpty ? nil : DependencySnapshot.take(cell.dependsOn, environment: environment)
            let key = resolved.cacheKey(for: cell, target: config.target, dependencies: snapshot)
            let record = state.cells[cell.id]
            let keyMatches = !o.force && !o.noCache && record?.status == .ok && record?.cacheKey == key
            // In a dry run, a cell that reads a cell which would run cannot be predicted cached.
            let changingUpstream = resolved.readCells.union(resolved.missing).intersection(wouldRun.union(mayRun)).sorted()
            var cached = keyMatches && changingUpstream.isEmpty
            var outcome = CellOutcome(id: cell.id, title: cell.title, kind: cell.kind, status: .ran)

            if o.step {
                printer.narrative(cell)
                var answer: RunPrinter.Answer?
                while answer == nil {
                    printer.prompt(cell, index: i, total: cells.count, cached: cached)
                    switch await Self.readAnswer(o.readAnswer, trap: trap) {
                    case .line(let text):
                        answered = true
                        answer = printer.answer(text)
                    case .endOfInput where !answered:
                        // No terminal and nothing piped in: an empty run that says "ok" would mislead.
                        printer.problem("\n--step: standard input ended before the first answer (no terminal?); nothing was run.\n"
                            + "    hint: run --step from a terminal, or pipe the answers in (r, s or q, one a line)")
                        exitCode = 2
                        break cellLoop
                    case .endOfInput:
                        printer.line("\nStandard input ended: stopped at cell '\(cell.id)'; the next run continues from here.")
                        break cellLoop
                    case .interrupted:
                        printer.line("\nInterrupted at the prompt: cell '\(cell.id)' was not run; the next run continues from here.")
                        exitCode = 130
                        break cellLoop
                    }
                }
                switch answer {
                case .run, nil: break
                case .skip:
                    outcome.status = .skipped
                    conclude(outcome)
                    printer.skipped(cell)
                    continue cellLoop
                case .quit:
                    printer.line("Stopped at cell '\(cell.id)'; the next run continues from here.")
                    break cellLoop
                }
            }

            // Once per cell, whatever follows (step mode printed it before asking).
            if !o.step { printer.narrative(cell) }
            let kind = kindType.init()
            let context = makeContext(cell, index: i, inputs: resolved.real, previous: record?.status == .ok ? record?.outputs : nil,
                                      console: nil, workDirectory: scratch)
            if cached, let record, let by = record.releasedBy {
                cached = false
                printer.note("'\(cell.id)' was released by cell '\(by)' (its server or endpoint is gone); running it again")
            } else if cached, let record, !o.dryRun, let live = await kind.liveness(of: record.outputs, context: context), case .gone(let why) = live {
                cached = false
                printer.note("cached result of '\(cell.id)' is no longer valid: \(why); running it again")
            }
            if cached, let record {
                if !kindType.schema.isNarrative {
                    printer.cached(cell, index: i, total: cells.count, record: record, log: store.readLog(cell.id))
                }
                outcome.status = .cached
                outcome.durationSeconds = record.durationSeconds
                outcome.outputs = record.outputs
                conclude(outcome)
                continue
            }
            if o.dryRun {
                let names = changingUpstream.map { "'\($0)'" }.joined(separator: ", ")
                let why: String
                if keyMatches && record?.releasedBy == nil && !changingUpstream.isEmpty {
                    // Its own inputs are unchanged: it runs only if what it reads changes.
                    why = "may run (if \(names) publish\(changingUpstream.count == 1 ? "es" : "") new values)"
                    mayRun.insert(cell.id)
                    outcome.status = .mayRun
                } else {
                    let changed = snapshot.map { $0.changes(since: record?.dependsOn ?? DependencySnapshot()) } ?? []
                    why = "would run (" + Self.dryRunReason(o, record: record, missing: resolved.missing, names: names, changed: changed) + ")"
                    wouldRun.insert(cell.id)
                    outcome.status = .wouldRun
                }
                printer.dryRun(cell, index: i, total: cells.count, inputs: resolved.redacted, status: why)
                outcome.inputs = resolved.redacted
                conclude(outcome)
                continue
            }

            // Execute.
            let quiet = kindType.schema.isNarrative
            if !quiet { printer.running(cell, index: i, total: cells.count) }
            let cellStarted = Date()
            var running = CellRecord(status: .running, kind: cell.kind, cacheKey: key, inputs: resolved.redacted, reads: resolved.reads,
                                     outputs: [:], startedAt: cellStarted, finishedAt: nil, durationSeconds: nil, error: nil,
                                     pid: getpid(), dependsOn: snapshot)
            let workDirectory = scratch.map { "\($0)/\(cell.id)" } ?? store.cellDirectory(cell.id)
            do {
                try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
            } catch {
                throw EngineError.environment("cannot create the cell's folder \(workDirectory): \(SystemError.describe(error))")
            }
            // In memory always (later cells of this run read it); on disk unless --no-cache.
            state.cells[cell.id] = running
            if persist { try store.save(state) }
            let console = CellConsole(logPath: persist ? store.logPath(cell.id) : nil, redactor: redactor, echo: true,
                                      toStandardError: o.json, output: printer.output)
            var runContext = makeContext(cell, index: i, inputs: resolved.real, previous: record?.status == .ok ? record?.outputs : nil,
                                         console: console, workDirectory: workDirectory)
            runContext.exchanges = recorder?.exchanges(cell: cell.id)
            var result = await execute(kind, runContext, cell: cell, state: state, persist: persist, running: running, trap: trap)
            console.close()
            // A log that could not be written (a full disk) fails the cell: its record would
            // promise a log that is not there.
            if let failure = console.failure {
                switch result {
                case .success: result = .failure(CellFailure(failure))
                case .failure(let e) where !(e is CancellationError): result = .failure(CellFailure("\(e)\n\(failure)"))
                case .failure: break
                }
            }
            let elapsed = Date().timeIntervalSince(cellStarted)
            running.finishedAt = Date()
            running.durationSeconds = elapsed
            running.pid = nil
            outcome.durationSeconds = elapsed
            switch result {
            case .success(let outputs):
                running.status = .ok
                running.outputs = outputs.mapValues(redactor.redact)
                if kindType.schema.releasesUpstream {
                    for id in resolved.readCells.sorted() {
                        guard let upstream = config.playbook.cells.first(where: { $0.id == id }),
                            kinds[upstream.kind]?.schema.hasLiveResource == true, state.cells[id]?.status == .ok
                        else { continue }
                        state.cells[id]?.releasedBy = cell.id
                        state.cells[id]?.releasedAt = Date()
                    }
                }
                outcome.outputs = running.outputs
                if !quiet { printer.finished(cell, seconds: elapsed) }
            case .failure(let error):
                let interrupted = error is CancellationError
                running.status = interrupted ? .interrupted : .failed
                running.error = interrupted ? "interrupted by a signal (Ctrl-C or SIGTERM) before the cell finished"
                                            : redactor.redact("\(error)")
                outcome.status = interrupted ? .interrupted : .failed
                outcome.error = running.error
                printer.failed(cell, error: running.error ?? "", interrupted: interrupted)
                exitCode = interrupted ? 130 : 1
            }
            state.cells[cell.id] = running
            if persist {
                do {
                    try store.save(state)
                } catch {
                    // The cell ran but its result cannot be recorded (a full disk): the file on
                    // disk still holds the previous, consistent state, in which this cell did
                    // not finish, so the next run runs it again.
                    let why = "its result could not be recorded: \(SystemError.describe(error))"
                    if outcome.status == .ran {
                        printer.failed(cell, error: why, interrupted: false)
                    } else {
                        printer.problem("  \(why); the next run runs '\(cell.id)' again")
                    }
                    outcome.status = outcome.status == .interrupted ? .interrupted : .failed
                    outcome.error = [outcome.error, why].compactMap { $0 }.joined(separator: "\n")
                    if exitCode == 0 { exitCode = 1 }
                }
            }
            conclude(outcome)
            if exitCode != 0 { break }
        }
        var summary = RunSummary(playbook: config.playbook.name, target: config.target.name, cells: outcomes,
                                 elapsedSeconds: Date().timeIntervalSince(started), exitCode: exitCode)
        summary.recording = recorder?.path
        if !o.json || o.jsonSummary { printer.summary(summary, dryRun: o.dryRun) }
        if let recorder {
            recorder.write(RecordedEnd(t: recorder.offset(), exitCode: exitCode, elapsedS: summary.elapsedSeconds))
            recorder.close()
            if o.recording?.path == nil { recorder.markLatest() }
            // Said after the recording closed: where it went is not part of what it shows.
            if let failure = recorder.failure {
                printer.problem(failure)
            } else if !o.json {
                try? FileHandle.standardOutput.write(contentsOf: Data((Format.dim("Recorded: \(recorder.path) (cellbook replay \(recorder.path))") + "\n").utf8))
            }
        }
        return summary
    }

    /// The run's recorder: where asked, else under the state folder for a run that keeps state.
    private func makeRecorder(_ o: RunOptions, persist: Bool) throws -> Recorder? {
        guard let options = o.recording, options.path != nil || persist else { return nil }
        let path = options.path ?? "\(store.directory)/recordings/\(Self.recordingName(Date())).jsonl"
        let pb = config.playbook
        let digest = (try? SHA256Digest.hex(fileAt: pb.file)) ?? ""
        let header = RecordingHeader(
            cellbookVersion: options.cellbookVersion,
            playbook: .init(name: pb.name, title: pb.title, file: pb.file, sha256: digest, source: pb.source),
            target: config.target.name, targetSettings: config.target.settings, params: config.params,
            overrides: options.overrides, startedAt: Date(), cells: pb.cells.map(\.id))
        return try Recorder(path: path, redactor: redactor, header: header)
    }

    /// A file name that sorts by time: 20261202T081500.123Z.
    static func recordingName(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        return f.string(from: date)
    }

    /// Why a dry run predicts that a cell runs.
    static func dryRunReason(_ o: RunOptions, record: CellRecord?, missing: [String], names: String, changed: [String] = []) -> String {
        if o.force { return "--force" }
        if o.noCache { return "--no-cache" }
        if !missing.isEmpty { return "after \(missing.map { "'\($0)'" }.joined(separator: ", ")), which would run first" }
        guard let record else { return "it has not run yet" }
        if let by = record.releasedBy, record.status == .ok { return "released by '\(by)'" }
        switch record.status {
        case .ok where !changed.isEmpty: return changed.joined(separator: ", ")
        case .ok: return names.isEmpty ? "inputs changed since the cached run" : "inputs changed since the cached run; it reads \(names)"
        case .failed: return "its last run failed"
        case .interrupted, .running: return "its last run did not finish"
        }
    }

    enum PromptInput: Sendable { case line(String), endOfInput, interrupted }

    /// Waits for one answer at a --step prompt. A signal ends the wait at once (the reading
    /// thread is left blocked; the run is ending), so Ctrl-C never waits for a key.
    static func readAnswer(_ read: @escaping @Sendable () -> String?, trap: SignalTrap) async -> PromptInput {
        if trap.stopRequested { return .interrupted }
        let answered = Locked(false)
        let input = await withCheckedContinuation { (continuation: CheckedContinuation<PromptInput, Never>) in
            let finish: @Sendable (PromptInput) -> Void = { input in
                // The reader and a signal race: the first one resumes, exactly once.
                let first = answered.withLock { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: input) }
            }
            trap.arm(onFirst: { finish(.interrupted) }, onForce: { finish(.interrupted) })
            // A signal that came between the check above and arming.
            if trap.stopRequested { finish(.interrupted) }
            let reader = Thread { finish(read().map(PromptInput.line) ?? .endOfInput) }
            reader.start()
        }
        trap.disarm()
        return input
    }

    private func makeContext(_ cell: CellSpec, index: Int, inputs: [String: Value], previous: [String: Value]?,
                             console: CellConsole?, workDirectory: String?) -> CellContext {
        CellContext(cell: cell, index: index, playbook: config.playbook, target: config.target, inputs: inputs,
                    secretValues: config.secretValues, workDirectory: workDirectory ?? store.cellDirectory(cell.id),
                    stateDirectory: store.directory, outputsRoot: store.outputsRoot, session: session, cacheDirectory: cacheDirectory, previousOutputs: previous,
                    console: console ?? CellConsole(logPath: nil, redactor: redactor, echo: false),
                    environment: environment)
    }

    /// Runs the kind under a signal trap; a signal cancels it, a second one (or a stuck
    /// cell) records the interruption and exits 130 so state stays truthful.
    private func execute(_ kind: any CellKind, _ context: CellContext, cell: CellSpec, state: SessionState,
                         persist: Bool, running: CellRecord, trap: SignalTrap) async -> Result<[String: Value], Error> {
        let task = Task { try await kind.run(context) }
        let store = self.store
        trap.arm(onFirst: { task.cancel() }, onForce: {
            if persist {
                var s = state
                var r = running
                r.status = .interrupted
                r.error = "interrupted by a signal"
                s.cells[cell.id] = r
                try? store.save(s)
            }
            FileHandle.standardError.write(Data("\ninterrupted: cell '\(cell.id)' recorded as interrupted\n".utf8))
            exit(130)
        })
        defer { trap.disarm() }
        let result = await task.result
        if case .success(let outputs) = result {
            // Outputs a cell declared (a shell cell's JSON keys) must be there for later cells.
            let missing = cell.outputs.filter { outputs[$0] == nil }
            if !missing.isEmpty {
                return .failure(CellFailure("cell '\(cell.id)' declares output\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) but did not publish \(missing.count == 1 ? "it" : "them")"))
            }
        }
        return result
    }
}
