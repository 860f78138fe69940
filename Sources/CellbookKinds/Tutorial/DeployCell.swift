import CellbookEngine
import CellbookHTTP
import Foundation
import PlaybookModel
import ServingKit

/// The tutorial's step 3: model, endpoint configuration, endpoint, then wait until InService.
/// Its result stays valid only while the endpoint serves: a cached deploy is reused only if
/// the target confirms it is alive, and is deployed again otherwise.
public struct DeployCell: CellKind {
    public static let schema = KindSchema(
        name: "deploy",
        summary: "Deploys the model to an endpoint and waits until it serves",
        inputs: [
            .init("endpoint_name", .string, required: true, "endpoint name (at most 63 characters: letters, digits, '-')"),
            .init("model_id", .string, required: true, "HF_MODEL_ID of the model"),
            .init("instance_type", .string, "SageMaker instance type, e.g. ml.p4d.24xlarge"),
            .init("instance_count", .int, "initial instance count (default 1)"),
            .init("health_check_timeout", .number, "seconds to wait for the container to become healthy (60..3600; default 900)"),
            .init("image_uri", .string, "the serving container image"),
            .init("role_arn", .string, "the execution role"),
            .init("region", .string, "the region to deploy in (the setup cell's)"),
            .init("env", .object, "container environment: HF_MODEL_ID, SM_NUM_GPUS, MAX_INPUT_LENGTH, MAX_TOTAL_TOKENS, ..."),
            .init("setup", .object, "the setup cell's local outputs: local_server_binary, local_model_path"),
        ],
        outputs: DeployResult.outputNames,
        hasLiveResource: true,
        check: { inputs in
            var problems: [SchemaProblem] = []
            if let name = inputs["endpoint_name"]?.stringValue, let problem = SageMakerNames.problem(name) {
                problems.append(SchemaProblem(key: "endpoint_name", "endpoint name '\(name)' \(problem)", hint: SageMakerNames.rule))
            }
            if let t = inputs["health_check_timeout"]?.doubleValue ?? inputs["health_check_timeout"]?.stringValue.flatMap({ Double($0) }),
                !(60...3600).contains(t) {
                problems.append(SchemaProblem(key: "health_check_timeout", "health_check_timeout \(t) s is outside SageMaker's 60..3600 s"))
            }
            if let n = inputs["instance_count"]?.intValue ?? inputs["instance_count"]?.stringValue.flatMap({ Int($0) }), n < 1 {
                problems.append(SchemaProblem(key: "instance_count", "instance_count must be at least 1, not \(n)"))
            }
            return problems
        })

    public init() {}

    /// The limit a deploy's estimated price per hour must stay under without `--yes`.
    public static let defaultMaxUSDPerHour = 10.0

    public func run(_ context: CellContext) async throws -> [String: Value] {
        // In a workshop session each attendee's endpoint gets a name of its own.
        let name = WorkshopSession.endpointName(try context.require("endpoint_name"), session: context.session)
        if let problem = SageMakerNames.problem(name) {
            throw CellFailure("endpoint name '\(name)' \(problem)", detail: SageMakerNames.rule)
        }
        let env = (context.inputs["env"]?.objectValue ?? [:]).compactMapValues { $0.isNull ? nil : $0.interpolationText }
        let setup = context.inputs["setup"]?.objectValue ?? [:]
        let request = DeployRequest(
            endpointName: name, modelID: try context.require("model_id"),
            instanceType: context.string("instance_type", default: "ml.p4d.24xlarge"),
            instanceCount: context.int("instance_count") ?? 1, healthCheckTimeout: context.double("health_check_timeout") ?? 900,
            imageURI: context.string("image_uri", default: ""), roleARN: context.string("role_arn", default: ""),
            region: context.string("region").flatMap { $0.isEmpty ? nil : $0 },
            environment: env, localServerBinary: setup["local_server_binary"]?.stringValue,
            localModelPath: setup["local_model_path"]?.stringValue,
            previous: context.previousOutputs.flatMap(DeployResult.init(outputs:)))
        let target = try ServingTargets.make(context, client: HTTPClient())
        try checkBudget(target.estimatedPricePerHour(request), request, context)
        return try await ServingTargets.call { try await target.deploy(request) }.outputs
    }

    /// Stops a deploy whose estimated price is above the limit before anything is created,
    /// saying what it would cost and how to go ahead.
    func checkBudget(_ price: Double?, _ request: DeployRequest, _ context: CellContext) throws {
        if price == 0 { return }
        let approved = ["1", "true", "yes"].contains(context.environment["CELLBOOK_YES"]?.lowercased() ?? "")
        let fromFlag = context.environment["CELLBOOK_MAX_USD_PER_HOUR"].flatMap(Double.init)
        let fromSetting = context.setting("max_usd_per_hour").flatMap { $0.doubleValue ?? $0.stringValue.flatMap(Double.init) }
        let limit = fromFlag ?? fromSetting ?? Self.defaultMaxUSDPerHour
        let what = "\(request.instanceCount) x \(request.instanceType)"
        let howTo = "nothing was created. To go ahead, run again with --yes, or raise the limit with --max-usd-per-hour N "
            + "(or the target setting max_usd_per_hour)"
        guard let price else {
            if approved { return }
            throw CellFailure("the price of \(what) is unknown (it is not in cellbook's catalog), so the budget guard cannot tell what the endpoint would cost",
                              detail: "    hint: \(howTo); extra prices go in a catalog file (the hardware cell's catalog_file)")
        }
        if price > limit && !approved {
            throw CellFailure(String(format: "deploying %@ would cost about $%.2f per hour (an estimate), above the limit of $%.2f per hour", what, price, limit),
                              detail: "    hint: \(howTo). Until it is deleted an endpoint bills every hour, used or not.")
        }
    }

    public func liveness(of outputs: [String: Value], context: CellContext) async -> Liveness? {
        guard let target = try? ServingTargets.make(context, client: HTTPClient()) else { return .gone("unknown runtime") }
        guard let deployment = DeployResult(outputs: outputs) else { return .gone("the recorded deployment is incomplete") }
        switch await target.liveness(of: deployment) {
        case .alive: return .alive
        case .gone(let why): return .gone(why)
        }
    }
}

/// SageMaker's rule for model, endpoint configuration and endpoint names.
enum SageMakerNames {
    static let rule = "use at most 63 letters, digits and hyphens, starting and ending with a letter or digit ([a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})"

    /// Why `name` breaks the rule, or nil.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.count > 63 { return "is \(name.count) characters long (at most 63)" }
        if let bad = name.first(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-")) }) {
            return "contains '\(bad)'"
        }
        if name.first == "-" || name.last == "-" { return "starts or ends with a hyphen" }
        return nil
    }
}
