import CellbookJSON
import Foundation
import PlaybookModel

/// What the setup cell asks for (the tutorial's session, role, bucket and image).
public struct SetupRequest: Sendable {
    public var region: String?
    public var imageURI: String?
    /// The role to fall back to when the caller is not an assumed role (the tutorial's
    /// `sagemaker_execution_role`).
    public var roleName: String?
    public var modelID: String?

    public init(region: String?, imageURI: String?, roleName: String?, modelID: String?) {
        self.region = region
        self.imageURI = imageURI
        self.roleName = roleName
        self.modelID = modelID
    }
}

/// The setup cell's result. Every target fills the common fields; fields only one target has
/// are grouped under it and published with its prefix (`local_...`), null on other targets.
public struct SetupResult: Sendable, Equatable {
    public var runtime: String
    public var runtimeVersion: String
    public var region: String
    /// The AWS account (empty where there is none).
    public var account: String
    public var imageURI: String
    public var roleARN: String
    public var bucket: String
    public var local: Local?

    public struct Local: Sendable, Equatable {
        public var serverBinary: String
        public var modelPath: String
        public var modelBytes: Int
        public var modelSHA256: String

        public init(serverBinary: String, modelPath: String, modelBytes: Int, modelSHA256: String) {
            self.serverBinary = serverBinary
            self.modelPath = modelPath
            self.modelBytes = modelBytes
            self.modelSHA256 = modelSHA256
        }
    }

    public init(runtime: String, runtimeVersion: String, region: String, account: String, imageURI: String,
                roleARN: String, bucket: String, local: Local? = nil) {
        self.runtime = runtime
        self.runtimeVersion = runtimeVersion
        self.region = region
        self.account = account
        self.imageURI = imageURI
        self.roleARN = roleARN
        self.bucket = bucket
        self.local = local
    }

    /// The setup cell's outputs, every name always present: the schema lists exactly these.
    public static let outputNames = ["runtime", "runtime_version", "region", "account", "image_uri", "role_arn", "bucket",
                                     "local_server_binary", "local_model_path", "local_model_bytes", "local_model_sha256"]

    public var outputs: [String: Value] {
        [
            "runtime": .string(runtime), "runtime_version": .string(runtimeVersion), "region": .string(region),
            "account": .string(account), "image_uri": .string(imageURI), "role_arn": .string(roleARN), "bucket": .string(bucket),
            "local_server_binary": local.map { .string($0.serverBinary) } ?? .null,
            "local_model_path": local.map { .string($0.modelPath) } ?? .null,
            "local_model_bytes": local.map { .int($0.modelBytes) } ?? .null,
            "local_model_sha256": local.map { .string($0.modelSHA256) } ?? .null,
        ]
    }
}

/// What the deploy cell asks for, in SageMaker's terms; each target maps it to its own.
public struct DeployRequest: Sendable {
    public var endpointName: String
    public var modelID: String
    public var instanceType: String
    public var instanceCount: Int
    public var healthCheckTimeout: Double
    public var imageURI: String
    public var roleARN: String
    public var region: String?
    /// The container environment (HF_MODEL_ID, SM_NUM_GPUS, MAX_TOTAL_TOKENS, ...); may hold
    /// secret values: never write it anywhere.
    public var environment: [String: String]
    /// Setup's local fields (server binary, model path) when the local target set them up.
    public var localServerBinary: String?
    public var localModelPath: String?
    /// The previous deployment of this cell, if its record survived (reuse or stop it).
    public var previous: DeployResult?

    public init(endpointName: String, modelID: String, instanceType: String, instanceCount: Int,
                healthCheckTimeout: Double, imageURI: String, roleARN: String, region: String?,
                environment: [String: String], localServerBinary: String?, localModelPath: String?,
                previous: DeployResult?) {
        self.endpointName = endpointName
        self.modelID = modelID
        self.instanceType = instanceType
        self.instanceCount = instanceCount
        self.healthCheckTimeout = healthCheckTimeout
        self.imageURI = imageURI
        self.roleARN = roleARN
        self.region = region
        self.environment = environment
        self.localServerBinary = localServerBinary
        self.localModelPath = localModelPath
        self.previous = previous
    }
}

/// A deployment: the fields every target has, plus the target's own record (`deployment`),
/// which only that target reads (local: pid, port, ...; sagemaker: ARNs, region, ...).
public struct DeployResult: Sendable, Equatable {
    public var endpointName: String
    /// Where answers come from (local: the server's base URL; sagemaker: the invocation URL).
    public var url: String
    public var status: String
    public var model: String
    public var startupSeconds: Double
    public var startedAt: String
    /// The runtime that made it.
    public var runtime: String
    public var record: JSONObject

    public init(endpointName: String, url: String, status: String, model: String, startupSeconds: Double,
                startedAt: String, runtime: String, record: JSONObject) {
        self.endpointName = endpointName
        self.url = url
        self.status = status
        self.model = model
        self.startupSeconds = startupSeconds
        self.startedAt = startedAt
        self.runtime = runtime
        self.record = record
    }

    public static let outputNames = ["endpoint_name", "url", "status", "model", "startup_s", "started_at", "runtime", "deployment"]

    public var outputs: [String: Value] {
        [
            "endpoint_name": .string(endpointName), "url": .string(url), "status": .string(status), "model": .string(model),
            "startup_s": .double((startupSeconds * 1000).rounded() / 1000), "started_at": .string(startedAt),
            "runtime": .string(runtime), "deployment": Value(json: .object(record)),
        ]
    }

    /// Reads a deployment back from the deploy cell's outputs (or from the `deployment`
    /// object plus the endpoint's name and URL that later cells pass along).
    public init?(outputs: [String: Value]) {
        guard let name = outputs["endpoint_name"]?.stringValue else { return nil }
        self.init(endpointName: name, url: outputs["url"]?.stringValue ?? "", status: outputs["status"]?.stringValue ?? "",
                  model: outputs["model"]?.stringValue ?? "", startupSeconds: outputs["startup_s"]?.doubleValue ?? 0,
                  startedAt: outputs["started_at"]?.stringValue ?? "", runtime: outputs["runtime"]?.stringValue ?? "",
                  record: outputs["deployment"].map { $0.json.objectValue ?? JSONObject() } ?? JSONObject())
    }
}

/// What cleanup did. Common: whether anything was running and what was deleted; the local
/// target adds whether the port closed and whether it had to force the stop.
public struct CleanupResult: Sendable, Equatable {
    public var wasRunning: Bool
    /// Resources deleted now, e.g. "endpoint llama3", "server pid 123".
    public var deleted: [String]
    /// Resources that were already gone (counted as done).
    public var alreadyGone: [String]
    public var localPortClosed: Bool?
    public var localForced: Bool?

    public init(wasRunning: Bool, deleted: [String], alreadyGone: [String], localPortClosed: Bool? = nil, localForced: Bool? = nil) {
        self.wasRunning = wasRunning
        self.deleted = deleted
        self.alreadyGone = alreadyGone
        self.localPortClosed = localPortClosed
        self.localForced = localForced
    }

    public static let outputNames = ["was_running", "deleted", "already_gone", "local_port_closed", "local_forced"]

    public var outputs: [String: Value] {
        [
            "was_running": .bool(wasRunning), "deleted": .array(deleted.map(Value.string)),
            "already_gone": .array(alreadyGone.map(Value.string)),
            "local_port_closed": localPortClosed.map(Value.bool) ?? .null, "local_forced": localForced.map(Value.bool) ?? .null,
        ]
    }
}
