import Foundation
import ServingKit
import SystemKit

/// `status` and `cleanup` for llama-servers in the ledger: alive means the process is ours and
/// its port answers; deleting is SIGTERM, then SIGKILL, until the port is closed. Free.
public struct LocalServerHandler: LedgerResourceHandler {
    public init() {}

    public var kinds: [String] { [LocalTarget.ledgerKind] }

    static func pidAndPort(_ holding: LedgerHolding) -> (pid: Int32, port: Int) {
        (Int32(holding.details["pid"] ?? "") ?? 0, Int(holding.details["port"] ?? "") ?? 0)
    }

    public func check(_ holding: LedgerHolding, environment: [String: String]) async -> ResourceCheck {
        let (pid, port) = Self.pidAndPort(holding)
        guard pid > 0 else {
            // Recorded as about to start, never given a pid: what listens on its port, if anything, is not known to be it.
            return LlamaServer.isPortOpen(port) ? .unknown("port \(port) is open, but no pid was recorded") : .gone
        }
        guard ChildProcess.isAlive(pid), LlamaServer.isOurServer(pid) else { return .gone }
        return .alive(status: LlamaServer.isPortOpen(port) ? "running, port \(port) open" : "running, port \(port) closed")
    }

    public func delete(_ holding: LedgerHolding, environment: [String: String]) async throws -> DeleteOutcome {
        let report = await Self.stop(holding, grace: 10)
        guard report.portClosed || !LlamaServer.isPortOpen(Self.pidAndPort(holding).port) else {
            throw ServingFailure("port \(Self.pidAndPort(holding).port) still accepts connections after stopping pid \(Self.pidAndPort(holding).pid)")
        }
        return report.wasRunning ? .deleted : .alreadyGone
    }

    public func pricePerHour(_ holding: LedgerHolding) -> Double? { 0 }

    /// Stops the server a holding names, if it is still ours and alive.
    static func stop(_ holding: LedgerHolding, grace: Double) async -> LlamaServer.StopReport {
        let (pid, port) = pidAndPort(holding)
        return await LlamaServer.stop(pid: pid, port: port, grace: grace)
    }
}
