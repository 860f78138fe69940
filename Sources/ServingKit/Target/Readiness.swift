import CellbookHTTP
import Foundation
import PlaybookModel

/// One line of `cellbook doctor`: something a run needs, whether it is there, and how to fix it.
public struct ReadinessCheck: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// There and working.
        case ok
        /// A run may start, but something may slow it or stop it later (or cannot be checked from here).
        case warn
        /// A run cannot start (or will fail) until this is fixed.
        case missing
        /// Not checked, and why (e.g. not needed when the runtime is installed).
        case skipped
    }

    public var check: String
    public var status: Status
    public var detail: String
    /// What to do; empty when there is nothing to do.
    public var fix: String

    public init(_ check: String, _ status: Status, _ detail: String, fix: String = "") {
        self.check = check
        self.status = status
        self.detail = detail
        self.fix = fix
    }
}

/// What a target's readiness checks may read: the playbook target's settings, the playbook's
/// params (resolved), what the setup cell recorded last time, the environment and the cache.
public struct ReadinessRequest: Sendable {
    public var targetName: String
    public var settings: [String: Value]
    public var parameters: [String: Value]
    /// The setup cell's outputs from the last run, if there was one (the local model's size and hash).
    public var recordedSetup: [String: Value]?
    public var environment: [String: String]
    public var cacheDirectory: String

    public init(targetName: String, settings: [String: Value] = [:], parameters: [String: Value] = [:],
                recordedSetup: [String: Value]? = nil, environment: [String: String], cacheDirectory: String) {
        self.targetName = targetName
        self.settings = settings
        self.parameters = parameters
        self.recordedSetup = recordedSetup
        self.environment = environment
        self.cacheDirectory = cacheDirectory
    }

    /// A setting as text; nil when absent, null or empty.
    public func setting(_ key: String) -> String? {
        guard let v = settings[key], !v.isNull else { return nil }
        let s = v.interpolationText
        return s.isEmpty ? nil : s
    }

    /// A param as text; nil when absent, null or empty.
    public func parameter(_ key: String) -> String? {
        guard let v = parameters[key], !v.isNull else { return nil }
        let s = v.interpolationText
        return s.isEmpty ? nil : s
    }
}

/// Every check for one target; a run can start when none is missing.
public struct ReadinessReport: Sendable, Equatable, Codable {
    public var target: String
    public var runtime: String
    public var checks: [ReadinessCheck]

    public init(target: String, runtime: String, checks: [ReadinessCheck]) {
        self.target = target
        self.runtime = runtime
        self.checks = checks
    }

    public var ready: Bool { !checks.contains { $0.status == .missing } }
}

extension ServingTarget {
    /// A target without checks of its own (a new target, the replay target to come) says so.
    public static func readiness(_ request: ReadinessRequest, client: HTTPClient) async -> [ReadinessCheck] {
        [ReadinessCheck("checks", .skipped, "the \(runtime) target has no readiness checks yet")]
    }
}
