import AWSCore
import AWSServices
import CellbookHTTP
import CellbookJSON
import Foundation
import HardwareFit
import PlaybookModel
import ServingKit
import SystemKit

/// The tutorial on real SageMaker: every call signed by cellbook (SigV4) and sent over its own
/// HTTP client. What the tutorial's notebook does, plus what it forgets: the endpoint
/// configuration is deleted too, the wait shows progress and cost, a failure shows its reason,
/// and an endpoint still Creating when a run was stopped is attached to, not created twice.
///
/// Its deployment record (`deployment` output): `region`, `endpoint_arn`, `endpoint_config_name`,
/// `model_name`, `instance_type`, `instance_count`, `price_usd_per_hour`, `price_is_estimate`.
public struct SageMakerTarget: ServingTarget {
    public static let runtime = "sagemaker"

    public static let schema = TargetSchema(
        runtime: runtime,
        summary: "the real SageMaker APIs in your AWS account (credentials as the AWS CLI finds them)",
        settings: [
            .init("region", .string, "the AWS region (default: the setup cell's region, then AWS_REGION, AWS_DEFAULT_REGION, the profile's)"),
            .init("role_arn", .string, "the execution role SageMaker assumes (default: the caller's assumed role, else role_name)"),
            .init("role_name", .string, "the role to fall back to when the caller is not an assumed role (the tutorial's sagemaker_execution_role)"),
            .init("bucket", .string, "the session bucket (default sagemaker-{region}-{account}, created when missing)"),
            .init("image_uri", .string, "the serving container (default: the setup cell's, else TGI for the region)"),
            .init("poll_interval", .number, "seconds between DescribeEndpoint calls while waiting (default 5)"),
            .init("max_wait", .number, "seconds to wait for InService before giving up waiting (default 3600; the endpoint keeps creating)"),
            .init("streaming", .bool, "chat through InvokeEndpointWithResponseStream (default true); false uses InvokeEndpoint"),
            .init("include_usage", .bool, "ask TGI for a usage chunk at the end of a stream (default true)"),
            .init("max_usd_per_hour", .number, "the budget guard: a deploy estimated above this many USD per hour needs --yes (default 10)"),
            .init("ttl", .string, "a time limit per deployment (90m, 2h, 1d): `cellbook status` marks it expired after, `cellbook cleanup --expired` deletes it"),
        ],
        check: { settings in
            var problems: [SchemaProblem] = []
            if let arn = settings["role_arn"]?.stringValue, !arn.isEmpty, !SageMakerTarget.isRoleARN(arn) {
                problems.append(SchemaProblem(key: "role_arn", "role_arn '\(arn)' is not an IAM role ARN",
                                              hint: "e.g. arn:aws:iam::123456789012:role/sagemaker_execution_role"))
            }
            if let region = settings["region"]?.stringValue, !region.isEmpty, !SageMakerTarget.isRegionName(region) {
                problems.append(SchemaProblem(key: "region", "region '\(region)' is not an AWS region name", hint: "e.g. us-east-1"))
            }
            if let ttl = settings["ttl"].map({ $0.interpolationText }), !ttl.isEmpty, SageMakerTarget.seconds(ttl) == nil {
                problems.append(SchemaProblem(key: "ttl", "ttl '\(ttl)' is not a duration", hint: "e.g. 90m, 2h or 1d"))
            }
            for key in ["poll_interval", "max_wait", "max_usd_per_hour"] {
                if let v = settings[key]?.doubleValue ?? settings[key]?.stringValue.flatMap({ Double($0) }), !(v > 0) {
                    problems.append(SchemaProblem(key: key, "\(key) must be a positive number of seconds, not \(v)"))
                }
            }
            return problems
        },
        preflight: { settings, environment in
            if let region = settings["region"]?.stringValue, !region.isEmpty { return [] }
            let config = AWSConfigEnvironment(environment: environment)
            do {
                _ = try AWSRegionResolver.resolve(config, explicit: nil)
                return []
            } catch {
                // The default playbook passes its `region` param to setup, which wins; without
                // one, a run would stop at the first AWS call.
                return [SchemaProblem(key: "runtime", "no AWS region found: \(error)",
                                      hint: "set the target's region setting, or export AWS_REGION")]
            }
        })

    static func isRoleARN(_ arn: String) -> Bool {
        arn.range(of: #"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"#, options: .regularExpression) != nil
    }

    static func isRegionName(_ name: String) -> Bool {
        name.range(of: #"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}$"#, options: .regularExpression) != nil
    }

    let context: ServingContext
    let client: HTTPClient

    public static func readiness(_ request: ReadinessRequest, client: HTTPClient) async -> [ReadinessCheck] {
        await SageMakerReadiness(request: request, client: client).checks()
    }

    public init(context: ServingContext, client: HTTPClient) {
        self.context = context
        self.client = client
    }

    // MARK: session

    var awsConfig: AWSConfigEnvironment {
        AWSConfigEnvironment(environment: context.environment)
    }

    /// Credentials and region; a missing credential names every place looked.
    func session(region explicit: String?) throws -> AWSSession {
        do {
            var session = try AWSSession.resolve(region: context.setting("region") ?? explicit, config: awsConfig, http: client)
            let console = context.console
            session.onRetry = { console.line($0) }
            return session
        } catch let error as AWSConfigError {
            throw ServingFailure("the sagemaker target cannot find AWS credentials or a region: \(error)")
        }
    }

    /// Runs AWS calls, turning their errors into messages that say what to do.
    func aws<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AWSServiceError {
            var hint: String?
            if error.isCredentialProblem {
                hint = "AWS refused the credentials: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile's keys) and that the clock is right"
            } else if error.isAccessDenied {
                hint = "the caller lacks a permission for this call; see the IAM policy of the user or role"
            } else if error.isThrottling {
                hint = "AWS kept throttling after the retries; wait a minute and run again"
            }
            throw ServingFailure("\(what) failed: \(error)", detail: hint.map { "    hint: \($0)" })
        } catch let error as AWSRequestError {
            throw ServingFailure("\(what) failed: \(error)", detail: "    hint: is the network up, and AWS_ENDPOINT_URL (if set) right?")
        }
    }

    // MARK: setup

    public func setup(_ request: SetupRequest) async throws -> SetupResult {
        let console = context.console
        let session = try session(region: request.region)
        let region = session.region
        let identity = try await aws("STS GetCallerIdentity") { try await STSClient(session).getCallerIdentity() }
        console.line("AWS account \(identity.account), caller \(identity.arn) (credentials: \(session.credentials.source); region \(region) from \(session.regionSource))")

        let roleARN: String
        if let explicit = context.setting("role_arn") {
            roleARN = explicit
            console.line("Execution role: \(explicit) (target setting role_arn)")
        } else if let assumed = Self.roleARN(fromAssumedRole: identity.arn) {
            roleARN = assumed
            console.line("Execution role: \(assumed) (the caller's assumed role)")
        } else {
            let name = context.setting("role_name") ?? request.roleName ?? "sagemaker_execution_role"
            do {
                roleARN = try await IAMClient(session).getRole(name: name).arn
            } catch let error as AWSServiceError where error.isNotFound || error.code == "NoSuchEntity" {
                throw ServingFailure("the caller \(identity.arn) is not an assumed role, and the fallback role '\(name)' does not exist",
                                     detail: "    hint: create an execution role for SageMaker named \(name) (trusting sagemaker.amazonaws.com, with AmazonSageMakerFullAccess), or set the sagemaker target's role_arn")
            } catch {
                return try await aws("IAM GetRole \(name)") { throw error }
            }
            console.line("Execution role: \(roleARN) (the caller is not an assumed role; fell back to '\(name)' as the tutorial does)")
        }

        let bucket = context.setting("bucket") ?? "sagemaker-\(region)-\(identity.account)"
        let s3 = S3Client(session)
        if try await aws("S3 HeadBucket \(bucket)", { try await s3.bucketExists(bucket) }) {
            console.line("Bucket \(bucket) exists.")
        } else {
            try await aws("S3 CreateBucket \(bucket)") { try await s3.createBucket(bucket) }
            console.line("Created bucket \(bucket).")
        }
        let image = context.setting("image_uri") ?? request.imageURI ?? SageMakerImages.tgi(region: region)
        console.line(Format.table([
            ["", "value"],
            ["region", region],
            ["account", identity.account],
            ["role", roleARN],
            ["bucket", bucket],
            ["image", image],
        ]))
        let tag = image.split(separator: ":").last.map(String.init) ?? image
        return SetupResult(runtime: Self.runtime, runtimeVersion: tag, region: region, account: identity.account,
                           imageURI: image, roleARN: roleARN, bucket: bucket)
    }

    /// `arn:aws:sts::A:assumed-role/R/session` -> `arn:aws:iam::A:role/R` (the SDK's
    /// get_execution_role); nil for an IAM user or anything else.
    static func roleARN(fromAssumedRole arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[2] == "sts", parts[5].hasPrefix("assumed-role/") else { return nil }
        let path = parts[5].dropFirst("assumed-role/".count).split(separator: "/")
        guard let role = path.first else { return nil }
        return "arn:\(parts[1]):iam::\(parts[4]):role/\(role)"
    }

    // MARK: deploy

    /// The ledger's kinds for what a deploy creates.
    public enum LedgerKind {
        public static let model = "sagemaker-model"
        public static let endpointConfig = "sagemaker-endpoint-config"
        public static let endpoint = "sagemaker-endpoint"
    }

    /// The built-in catalog, read once (the budget guard and the deploy both ask for a price).
    static let catalog = try? InstanceCatalog.builtIn()

    static func price(_ instanceType: String) -> Double? {
        catalog?.instance(named: instanceType)?.pricePerHourUSD
    }

    public func estimatedPricePerHour(_ request: DeployRequest) -> Double? {
        Self.price(request.instanceType).map { $0 * Double(request.instanceCount) }
    }

    static func invocationURL(region: String, endpoint: String) -> String {
        let domain = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return "https://runtime.sagemaker.\(region).\(domain)/endpoints/\(endpoint)/invocations"
    }

    /// The tags every resource carries, so a sweep finds it even when the ledger is lost.
    func tags(endpoint: String) -> [(String, String)] {
        [("cellbook", "true"), ("cellbook-playbook", context.playbookName), ("cellbook-target", context.targetName),
         ("cellbook-session", context.session ?? SageMakerResourceHandler.noSession), ("cellbook-endpoint", endpoint)]
    }

    /// A deployment's time limit (`ttl` setting: "90m", "2h", "3600"): when it expires.
    func expiry(from start: Date) -> String? {
        guard let text = context.setting("ttl"), let seconds = SageMakerTarget.seconds(text) else { return nil }
        return ISO8601DateFormatter().string(from: start.addingTimeInterval(seconds))
    }

    /// "90" (seconds), "90s", "45m", "2h", "1d".
    public static func seconds(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            return Double(t.dropLast()).flatMap { $0 > 0 ? $0 * factor : nil }
        }
        return Double(t).flatMap { $0 > 0 ? $0 : nil }
    }

    public func deploy(_ request: DeployRequest) async throws -> DeployResult {
        let console = context.console
        let session = try session(region: request.region)
        let region = session.region
        let sm = SageMakerClient(session)
        let name = request.endpointName
        let started = Date()
        let hourly = estimatedPricePerHour(request)
        let owner = context.owner(deployment: name)
        let ledger = context.ledger
        var details: [String: String] = [
            "instance_type": request.instanceType, "instance_count": String(request.instanceCount),
            "started_at": ISO8601DateFormatter().string(from: started),
        ]
        if let hourly { details["price_usd_per_hour"] = String(hourly) }
        if let expires = expiry(from: started) { details["expires_at"] = expires }
        let model = LedgerResource(kind: LedgerKind.model, name: name, region: region)
        let config = LedgerResource(kind: LedgerKind.endpointConfig, name: name, region: region)
        let endpoint = LedgerResource(kind: LedgerKind.endpoint, name: name, region: region)
        var configName = name

        var attach = false
        if let existing = try await aws("SageMaker DescribeEndpoint \(name)", { try await sm.describeEndpoint(name: name) }) {
            switch existing.status {
            case .inService:
                console.line("Endpoint \(name) is already InService (an earlier run created it); using it instead of creating another.")
                attach = true
            case .creating, .updating, .systemUpdating:
                console.line("Endpoint \(name) is \(existing.status) (an earlier run started it); waiting for it instead of creating a second one.")
                attach = true
            case .failed:
                console.line("Endpoint \(name) exists from an earlier run but Failed: \(existing.failureReason ?? "no reason given"). Deleting it and deploying again.")
                _ = try await aws("SageMaker DeleteEndpoint \(name)") { try await sm.deleteEndpoint(name: name) }
                try await waitUntilGone(sm, name)
                try? ledger.record(.deleted, endpoint, owner: owner)
            case .deleting:
                console.line("Endpoint \(name) is being deleted; waiting until it is gone before deploying again.")
                try await waitUntilGone(sm, name)
                try? ledger.record(.deleted, endpoint, owner: owner)
            default:
                throw ServingFailure("endpoint \(name) exists and is \(existing.status)",
                                     detail: "    hint: delete it (run the cleanup cell, or `cellbook cleanup`) or choose another endpoint_name")
            }
            if attach {
                configName = existing.configName
                // Known to exist now, whatever the ledger had (it may have been lost).
                if configName != name {
                    try ledger.record(.created, LedgerResource(kind: LedgerKind.endpointConfig, name: configName, region: region), owner: owner)
                }
                var adopted = details
                adopted["arn"] = existing.arn
                if let since = ledger.holdings(of: owner).first(where: { $0.resource == endpoint })?.details["started_at"] {
                    adopted["started_at"] = since
                }
                try ledger.record(.created, endpoint, owner: owner, details: adopted)
            }
        }

        if !attach {
            let tags = tags(endpoint: name)
            // A model or configuration of this name left by a killed run would make the creates
            // fail (or, in some emulators, silently replace it): delete them first.
            if try await aws("SageMaker DeleteEndpointConfig \(name)", { try await sm.deleteEndpointConfig(name: name) }) {
                console.line("Deleted endpoint configuration \(name), left by an earlier run.")
            }
            try? ledger.record(.deleted, config, owner: owner)
            if try await aws("SageMaker DeleteModel \(name)", { try await sm.deleteModel(name: name) }) {
                console.line("Deleted model \(name), left by an earlier run.")
            }
            try? ledger.record(.deleted, model, owner: owner)
            printPlan(request, region: region, hourly: hourly)
            // Each create is in the ledger before its call and again with its ARN after, so a run
            // killed between two calls leaves everything findable.
            try ledger.record(.intent, model, owner: owner, details: details)
            let modelARN = try await aws("SageMaker CreateModel \(name)") {
                try await sm.createModel(name: name, executionRoleARN: request.roleARN, image: request.imageURI,
                                         environment: request.environment, tags: tags)
            }
            try ledger.record(.created, model, owner: owner, details: ["arn": modelARN])
            console.line("Created model \(name).")
            let timeout = Int(min(3600, max(60, request.healthCheckTimeout)))
            try ledger.record(.intent, config, owner: owner, details: details)
            let configARN = try await aws("SageMaker CreateEndpointConfig \(name)") {
                try await sm.createEndpointConfig(name: name, modelName: name, instanceType: request.instanceType,
                                                  instanceCount: request.instanceCount, healthCheckTimeoutSeconds: timeout, tags: tags)
            }
            try ledger.record(.created, config, owner: owner, details: ["arn": configARN])
            console.line("Created endpoint configuration \(name) (\(request.instanceCount) x \(request.instanceType), health check timeout \(timeout) s).")
            try ledger.record(.intent, endpoint, owner: owner, details: details)
            let arn = try await aws("SageMaker CreateEndpoint \(name)") { try await sm.createEndpoint(name: name, configName: name, tags: tags) }
            try ledger.record(.created, endpoint, owner: owner, details: ["arn": arn])
            console.line("Created endpoint \(name); SageMaker now starts the instance and the container.")
        }

        let final = try await waitForInService(sm, name: name, configName: configName, since: started, hourly: hourly)
        let startup = Date().timeIntervalSince(started)
        let record: JSONObject = [
            "region": .string(region), "endpoint_name": .string(name), "endpoint_arn": .string(final.arn),
            "endpoint_config_name": .string(configName), "model_name": .string(name),
            "instance_type": .string(request.instanceType), "instance_count": .int(request.instanceCount),
            "price_usd_per_hour": hourly.map(JSONValue.double) ?? .null, "price_is_estimate": .bool(true),
        ]
        return DeployResult(endpointName: name, url: Self.invocationURL(region: region, endpoint: name), status: final.status.rawValue,
                            model: request.modelID, startupSeconds: startup,
                            startedAt: ISO8601DateFormatter().string(from: started), runtime: Self.runtime, record: record)
    }

    func printPlan(_ request: DeployRequest, region: String, hourly: Double?) {
        var rows = [["setting", "value"],
                    ["endpoint", request.endpointName],
                    ["instance", "\(request.instanceCount) x \(request.instanceType)"],
                    ["price", hourly.map { String(format: "about $%.2f per hour (estimate from cellbook's catalog, not a quote)", $0) } ?? "unknown (not in cellbook's catalog)"],
                    ["image", request.imageURI],
                    ["role", request.roleARN]]
        for key in request.environment.keys.sorted() {
            let value = request.environment[key] ?? ""
            // The container environment may hold tokens: their values are never shown.
            let shown = key.contains("TOKEN") || key.contains("SECRET") || key.contains("PASSWORD") || key.contains("KEY")
                ? (value.isEmpty ? "(empty)" : "(secret, not shown)") : value
            rows.append([key, shown])
        }
        context.console.line(Format.table(rows))
    }

    func waitForInService(_ sm: SageMakerClient, name: String, configName: String, since started: Date,
                          hourly: Double?) async throws -> EndpointDescription {
        let console = context.console
        let interval = context.doubleSetting("poll_interval") ?? 5
        let maxWait = context.doubleSetting("max_wait") ?? 3600
        let waitStart = Date()
        var last = "Creating"
        do {
        while true {
            guard let d = try await aws("SageMaker DescribeEndpoint \(name)", { try await sm.describeEndpoint(name: name) }) else {
                throw ServingFailure("endpoint \(name) disappeared while it was being created",
                                     detail: "    hint: someone deleted it; run the deploy cell again")
            }
            last = d.status.rawValue
            let elapsed = Date().timeIntervalSince(started)
            let cost = hourly.map { String(format: " · about $%.2f so far at $%.2f/h (estimate)", $0 * elapsed / 3600, $0) } ?? ""
            switch d.status {
            case .inService:
                console.progress("endpoint \(name): InService after \(Format.duration(elapsed))\(cost)", final: true)
                return d
            case .failed:
                console.progress("endpoint \(name): Failed after \(Format.duration(elapsed))", final: true)
                let reason = d.failureReason ?? "SageMaker gave no FailureReason"
                console.line("FailureReason: \(reason)")
                // A Failed endpoint serves nothing; its parts are deleted so nothing is left behind
                // (the container's logs stay in CloudWatch under /aws/sagemaker/Endpoints/\(name)).
                let left = await deleteAll(sm, endpoint: name, config: configName, model: name)
                throw ServingFailure("endpoint \(name) failed: \(reason)",
                                     detail: "    " + (left.isEmpty ? "its endpoint, configuration and model were deleted"
                                         : "deleted what could be; still there: \(left.joined(separator: ", ")) (run the cleanup cell)")
                                         + "; the container's log is in CloudWatch (/aws/sagemaker/Endpoints/\(name)); fix the cause and deploy again")
            default:
                console.progress("endpoint \(name): \(d.status) · \(Format.duration(elapsed))\(cost)", final: false)
            }
            if Date().timeIntervalSince(waitStart) > maxWait {
                console.progress("endpoint \(name): still \(d.status) after \(Format.duration(elapsed))", final: true)
                throw ServingFailure("endpoint \(name) is still \(d.status) after waiting \(Format.duration(maxWait))",
                                     detail: "    hint: it keeps creating (and may be billing); the next run attaches to it, and the cleanup cell deletes it")
            }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
        } catch is CancellationError {
            console.line("")
            console.line("Stopped waiting: endpoint \(name) is still \(last) and may be billing. The next run attaches to it; "
                + "the cleanup cell or `cellbook cleanup` deletes it.")
            throw CancellationError()
        }
    }

    /// Deletes endpoint, configuration and model, recording each confirmed deletion in the
    /// ledger; returns what could not be deleted.
    func deleteAll(_ sm: SageMakerClient, endpoint: String, config: String, model: String) async -> [String] {
        let owner = context.owner(deployment: endpoint)
        let region = sm.session.region
        var left: [String] = []
        if (try? await sm.deleteEndpoint(name: endpoint)) != nil {
            try? context.ledger.record(.deleted, LedgerResource(kind: LedgerKind.endpoint, name: endpoint, region: region), owner: owner)
        } else {
            left.append("endpoint \(endpoint)")
        }
        if (try? await sm.deleteEndpointConfig(name: config)) != nil {
            try? context.ledger.record(.deleted, LedgerResource(kind: LedgerKind.endpointConfig, name: config, region: region), owner: owner)
        } else {
            left.append("endpoint configuration \(config)")
        }
        if (try? await sm.deleteModel(name: model)) != nil {
            try? context.ledger.record(.deleted, LedgerResource(kind: LedgerKind.model, name: model, region: region), owner: owner)
        } else {
            left.append("model \(model)")
        }
        return left
    }

    func waitUntilGone(_ sm: SageMakerClient, _ name: String) async throws {
        let interval = context.doubleSetting("poll_interval") ?? 5
        let start = Date()
        while let d = try await aws("SageMaker DescribeEndpoint \(name)", { try await sm.describeEndpoint(name: name) }) {
            context.console.progress("endpoint \(name): \(d.status) · \(Format.duration(Date().timeIntervalSince(start)))", final: false)
            if Date().timeIntervalSince(start) > 900 {
                throw ServingFailure("endpoint \(name) is still \(d.status) after 15 minutes of deleting")
            }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
        context.console.progress("endpoint \(name) is gone", final: true)
    }

    // MARK: liveness, chat

    /// The region a deployment lives in: its record's, else its invocation URL's host.
    func region(of deployment: DeployResult) -> String? {
        if let r = deployment.record["region"]?.stringValue { return r }
        guard let host = deployment.url.split(separator: "/").dropFirst().first,
            host.hasPrefix("runtime.sagemaker.") else { return nil }
        return host.dropFirst("runtime.sagemaker.".count).split(separator: ".").first.map(String.init)
    }

    public func liveness(of deployment: DeployResult) async -> EndpointHealth {
        guard let session = try? session(region: region(of: deployment)) else { return .gone("no AWS credentials to check it with") }
        do {
            guard let d = try await SageMakerClient(session).describeEndpoint(name: deployment.endpointName) else {
                return .gone("endpoint \(deployment.endpointName) no longer exists")
            }
            return d.status == .inService ? .alive : .gone("endpoint \(deployment.endpointName) is \(d.status)")
        } catch {
            return .gone("DescribeEndpoint failed: \(error)")
        }
    }

    public func chatTransport(for deployment: DeployResult) throws -> any ChatStreamTransport {
        let session = try session(region: region(of: deployment))
        let runtime = SageMakerRuntimeClient(session)
        if context.settings["streaming"]?.boolValue == false {
            return SageMakerInvokeTransport(runtime: runtime, endpointName: deployment.endpointName)
        }
        let console = context.console
        return SageMakerChatTransport(runtime: runtime, http: session.http, endpointName: deployment.endpointName,
                                      includeUsage: context.settings["include_usage"]?.boolValue ?? true,
                                      retry: session.retry, onRetry: { console.line($0) })
    }

    /// TGI's /tokenize is not reachable through SageMaker: prompt lengths come from probe requests.
    public func tokenCounter(for deployment: DeployResult) -> (any PromptTokenCounter)? { nil }

    // MARK: cleanup

    public func cleanup(_ deployment: DeployResult) async throws -> CleanupResult {
        let console = context.console
        let name = deployment.endpointName
        let session = try session(region: region(of: deployment))
        let sm = SageMakerClient(session)
        let owner = context.owner(deployment: name)
        let region = session.region
        let configName = deployment.record["endpoint_config_name"]?.stringValue ?? name
        let modelName = deployment.record["model_name"]?.stringValue ?? name
        // What this deployment holds in the ledger, beyond the three its record names.
        var targets: [(LedgerResource, String)] = [
            (LedgerResource(kind: LedgerKind.endpoint, name: name, region: region), "endpoint \(name)"),
            (LedgerResource(kind: LedgerKind.endpointConfig, name: configName, region: region), "endpoint configuration \(configName)"),
            (LedgerResource(kind: LedgerKind.model, name: modelName, region: region), "model \(modelName)"),
        ]
        for held in context.ledger.holdings(of: owner) where held.resource.region == region && !targets.contains(where: { $0.0 == held.resource }) {
            targets.append((held.resource, held.resource.description))
        }
        var deleted: [String] = []
        var gone: [String] = []
        let wasRunning = (try? await sm.describeEndpoint(name: name))??.status == .inService
        for (resource, label) in targets {
            let removed: Bool
            switch resource.kind {
            case LedgerKind.endpoint:
                removed = try await aws("SageMaker DeleteEndpoint \(resource.name)", { try await sm.deleteEndpoint(name: resource.name) })
                if removed { try await waitUntilGone(sm, resource.name) }
            case LedgerKind.endpointConfig:
                removed = try await aws("SageMaker DeleteEndpointConfig \(resource.name)", { try await sm.deleteEndpointConfig(name: resource.name) })
            default:
                removed = try await aws("SageMaker DeleteModel \(resource.name)", { try await sm.deleteModel(name: resource.name) })
            }
            // Confirmed gone either way: the ledger lets it go.
            try context.ledger.record(.deleted, resource, owner: owner)
            if removed { deleted.append(label) } else { gone.append(label) }
        }
        if !deleted.isEmpty { console.line("Deleted " + deleted.joined(separator: ", ") + ".") }
        if !gone.isEmpty { console.line("Already gone: " + gone.joined(separator: ", ") + ".") }
        console.line("Nothing of \(name) is left in \(region): no endpoint, configuration or model bills any more.")
        return CleanupResult(wasRunning: wasRunning, deleted: deleted, alreadyGone: gone)
    }
}
