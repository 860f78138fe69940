import CellbookHTTP
import CellbookJSON
import CellbookRecording
import Foundation
import PlaybookModel
import ServingKit

/// A target that needs no server, network or credentials: setup, deploy and cleanup give back
/// what the recording's cells published, and chat and benchmark requests are answered from its
/// HTTP exchanges at their recorded pace. A request the recording does not hold fails with the
/// closest recorded one named, never with a made-up answer.
///
/// Settings: `recording`, the recording to replay (default: the newest `latest.jsonl` of another
/// target of the same playbook under outputs/), and `speed` (default 1).
public struct ReplayTarget: ServingTarget {
    public static let runtime = "replay"

    public static let schema = TargetSchema(
        runtime: runtime,
        summary: "answers from a recording of another target: offline, at the recorded pace",
        settings: [
            .init("recording", .string, "the recording to replay (default: the latest recording of another target of this playbook)"),
            .init("speed", .number, "how much faster than recorded answers stream (default 1)"),
        ],
        check: { settings in
            if let speed = settings["speed"]?.doubleValue, speed <= 0 {
                return [SchemaProblem(key: "speed", "speed must be above 0, not \(speed)", hint: "1 is the recorded pace, 2 twice as fast")]
            }
            return []
        })

    let context: ServingContext
    let recording: Recording
    let exchanges: RecordedExchanges
    /// Carries the run's exchange observer when the replay is itself recorded.
    let client: HTTPClient

    public init(context: ServingContext, client: HTTPClient) throws {
        self.context = context
        self.client = client
        let path = try Self.recordingPath(context)
        do {
            recording = try Recording.load(path)
        } catch {
            throw ServingFailure("target '\(context.targetName)' cannot replay \(path): \(error)")
        }
        guard recording.header.playbook.name == context.playbookName else {
            throw ServingFailure("\(path) is a recording of playbook '\(recording.header.playbook.name)', not '\(context.playbookName)'",
                                 detail: "set the target's `recording` to a recording of this playbook")
        }
        exchanges = RecordedExchanges(recording.exchanges)
    }

    /// The `recording` setting, or the newest `recordings/latest.jsonl` of another target.
    static func recordingPath(_ context: ServingContext) throws -> String {
        if let path = context.setting("recording") {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ServingFailure("target '\(context.targetName)': the recording \(path) does not exist",
                                     detail: "record one with `cellbook run <playbook> --target local --record \(path)`")
            }
            return path
        }
        let playbookFolder = (context.stateDirectory as NSString).deletingLastPathComponent
        let targets = (try? FileManager.default.contentsOfDirectory(atPath: playbookFolder)) ?? []
        var newest: (path: String, date: Date)?
        for t in targets where t != context.targetName {
            let latest = "\(playbookFolder)/\(t)/recordings/latest.jsonl"
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: latest),
                  let date = attributes[.modificationDate] as? Date else { continue }
            if newest == nil || date > newest!.date { newest = (latest, date) }
        }
        guard let newest else {
            throw ServingFailure("target '\(context.targetName)' has no recording to replay: none under \(playbookFolder)/*/recordings/",
                                 detail: "run the playbook on another target first, or set the target's `recording` setting")
        }
        return newest.path
    }

    var speed: Double { context.doubleSetting("speed") ?? 1 }

    /// A replay costs nothing.
    public func estimatedPricePerHour(_ request: DeployRequest) -> Double? { 0 }

    /// `cellbook doctor`: the recording present and readable (when the setting names one).
    public static func readiness(_ request: ReadinessRequest, client: HTTPClient) async -> [ReadinessCheck] {
        guard let path = request.setting("recording") else {
            return [ReadinessCheck("recording", .skipped,
                                   "no `recording` setting: the run replays the newest recording of another target of this playbook",
                                   fix: "")]
        }
        guard FileManager.default.fileExists(atPath: path) else {
            return [ReadinessCheck("recording", .missing, "\(path) does not exist",
                                   fix: "record one: cellbook run <playbook> --target local --record \(path)")]
        }
        do {
            let recording = try Recording.load(path)
            return [ReadinessCheck("recording", .ok,
                                   "\(path): playbook \(recording.header.playbook.name), target \(recording.header.target), "
                                   + "\(recording.cells.count) cells, \(recording.exchanges.count) HTTP exchanges")]
        } catch {
            return [ReadinessCheck("recording", .missing, "\(path) cannot be read: \(error)",
                                   fix: "record it again (make recording for the default playbook)")]
        }
    }

    /// The recorded cell this call stands for: the asking cell's id, else the first of `kind`.
    func recordedCell(kind: String) throws -> Recording.Cell {
        let cells = recording.cells.filter { $0.end?.status == "ran" || $0.end?.status == "cached" }
        if let same = cells.last(where: { $0.start.id == context.cellID && $0.start.kind == kind }) ?? cells.last(where: { $0.start.kind == kind }) {
            return same
        }
        throw ServingFailure("the recording \(recording.path) has no finished \(kind) cell to replay for '\(context.cellID)'")
    }

    func note(_ cell: Recording.Cell) {
        context.console.line("Replaying cell '\(cell.start.id)' of \(recording.path) (target \(recording.header.target), "
            + "recorded \(ISO8601DateFormatter().string(from: recording.header.startedAt))).")
    }

    public func setup(_ request: SetupRequest) async throws -> SetupResult {
        let cell = try recordedCell(kind: "setup")
        note(cell)
        let o = cell.end?.outputs ?? [:]
        func text(_ k: String) -> String { o[k]?.stringValue ?? "" }
        var local: SetupResult.Local?
        if let binary = o["local_server_binary"]?.stringValue {
            local = .init(serverBinary: binary, modelPath: text("local_model_path"), modelBytes: o["local_model_bytes"]?.intValue ?? 0,
                          modelSHA256: text("local_model_sha256"))
        }
        return SetupResult(runtime: text("runtime"), runtimeVersion: text("runtime_version"), region: text("region"),
                           account: text("account"), imageURI: text("image_uri"), roleARN: text("role_arn"),
                           bucket: text("bucket"), local: local)
    }

    public func deploy(_ request: DeployRequest) async throws -> DeployResult {
        let cell = try recordedCell(kind: "deploy")
        note(cell)
        // The recorded deployment as it was, so a check against the recording compares equal.
        guard let result = DeployResult(outputs: cell.end?.outputs ?? [:]) else {
            throw ServingFailure("the recorded deploy cell '\(cell.start.id)' published no endpoint_name")
        }
        return result
    }

    public func liveness(of deployment: DeployResult) async -> EndpointHealth { .alive }

    public func chatTransport(for deployment: DeployResult) throws -> any ChatStreamTransport {
        let paths = recording.exchanges.filter { !$0.path.hasSuffix("/tokenize") }.map(\.path)
        guard !paths.isEmpty else {
            throw ServingFailure("the recording \(recording.path) holds no chat exchanges",
                                 detail: "it was made before cellbook recorded HTTP exchanges, or every chat cell came from cache; record a run with --force")
        }
        return ReplayChatTransport(exchanges: exchanges, paths: Array(Set(paths)).sorted(), speed: speed, observer: client.observer)
    }

    public func tokenCounter(for deployment: DeployResult) -> (any PromptTokenCounter)? {
        let paths = exchanges.paths(endingWith: "/tokenize")
        return paths.isEmpty ? nil : ReplayTokenCounter(exchanges: exchanges, paths: paths, observer: client.observer)
    }

    public func cleanup(_ deployment: DeployResult) async throws -> CleanupResult {
        let cell = try recordedCell(kind: "cleanup")
        note(cell)
        let o = cell.end?.outputs ?? [:]
        func list(_ k: String) -> [String] { (o[k]?.arrayValue ?? []).compactMap(\.stringValue) }
        return CleanupResult(wasRunning: o["was_running"]?.boolValue ?? false, deleted: list("deleted"), alreadyGone: list("already_gone"),
                             localPortClosed: o["local_port_closed"]?.boolValue, localForced: o["local_forced"]?.boolValue)
    }
}
