import CellbookEngine
import CellbookHTTP
import Foundation
import LocalServing
import PlaybookModel
import ServingKit

/// Picks the serving target for a cell's playbook target (by its `runtime` setting) and gives
/// it the narrow context it may use.
enum ServingTargets {
    static func make(_ context: CellContext, client: HTTPClient) throws -> any ServingTarget {
        let runtime = context.setting("runtime")?.stringValue ?? LocalTarget.runtime
        guard let type = allServingTargets.first(where: { $0.runtime == runtime }) else {
            throw CellFailure("target '\(context.target.name)' sets runtime '\(runtime)', which cellbook does not know",
                              detail: "known runtimes: \(allServingTargets.map { $0.runtime }.joined(separator: ", "))")
        }
        do {
            return try type.init(context: servingContext(context), client: client)
        } catch let failure as ServingFailure {
            throw CellFailure(failure.message, detail: failure.detail)
        }
    }

    /// The HTTP client a cell's target talks through: its exchanges are recorded when the run records.
    static func client(_ context: CellContext, readBatching: ReadBatching = .off) -> HTTPClient {
        HTTPClient(readBatching: readBatching, observer: context.exchanges.map { ExchangeRecordingObserver(log: $0) })
    }

    static func servingContext(_ context: CellContext) -> ServingContext {
        ServingContext(targetName: context.target.name, settings: context.target.settings, playbookName: context.playbook.name,
                       cellID: context.cell.id, console: context.console, workDirectory: context.workDirectory,
                       stateDirectory: context.stateDirectory, cacheDirectory: context.cacheDirectory,
                       environment: context.environment, session: context.session,
                       ledger: ResourceLedger(outputsRoot: context.outputsRoot))
    }

    /// Runs a target call, turning its failures into the cell's.
    static func call<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as ServingFailure {
            throw CellFailure(failure.message, detail: failure.detail)
        }
    }

    static func call<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as ServingFailure {
            throw CellFailure(failure.message, detail: failure.detail)
        }
    }

    /// The deployment later cells pass along: the endpoint's name and URL plus the deploy
    /// cell's `deployment` record.
    static func deployment(_ context: CellContext, endpointKey: String = "endpoint") throws -> DeployResult {
        var outputs: [String: Value] = ["endpoint_name": .string(try context.require(endpointKey)),
                                        "url": .string(context.string("url", default: ""))]
        if let record = context.inputs["deployment"], !record.isNull { outputs["deployment"] = record }
        return DeployResult(outputs: outputs) ?? DeployResult(endpointName: "", url: "", status: "", model: "", startupSeconds: 0,
                                                             startedAt: "", runtime: "", record: [:])
    }
}

extension CellConsole: ServingConsole {}
