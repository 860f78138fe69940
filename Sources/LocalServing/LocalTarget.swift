import CellbookHTTP
import CellbookJSON
import Foundation
import PlaybookModel
import ServingKit
import SystemKit

/// The embedded default target: a real llama.cpp server with a small real model on this
/// machine, the way SageMaker's local mode runs the container on the user's machine.
///
/// Its deployment record (`deployment` output): `pid`, `port`, `slots`, `log_path`, and
/// `external` (true when `server_url` points at a server cellbook did not start).
public struct LocalTarget: ServingTarget {
    public static let runtime = "local"

    public static let schema = TargetSchema(
        runtime: runtime,
        summary: "a llama.cpp server (llama-server) with a small real model on this machine",
        settings: [
            .init("model_path", .string, "a GGUF file to serve instead of the bundled SmolLM2 model"),
            .init("server_url", .string, "an OpenAI-compatible server that is already running: nothing is installed or started"),
            .init("port", .int, "the loopback port (empty: a free one; a redeploy reuses the previous)"),
            .init("slots", .int, "concurrent sequences the server batches"),
            .init("threads", .int, "CPU threads for generation (empty: the cores free when it starts)"),
            .init("stop_grace", .number, "seconds between SIGTERM and SIGKILL on cleanup"),
        ],
        check: { settings in
            var problems: [SchemaProblem] = []
            if let port = settings["port"]?.intValue ?? settings["port"]?.stringValue.flatMap({ Int($0) }), !(1...65535).contains(port) {
                problems.append(SchemaProblem(key: "port", "port \(port) is not a TCP port", hint: "use 1024..65535, or leave it empty for a free one"))
            }
            for key in ["slots", "threads"] {
                if let n = settings[key]?.intValue ?? settings[key]?.stringValue.flatMap({ Int($0) }), n < 1 {
                    problems.append(SchemaProblem(key: key, "\(key) must be at least 1, not \(n)"))
                }
            }
            if let url = settings["server_url"]?.stringValue, !url.isEmpty, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                problems.append(SchemaProblem(key: "server_url", "server_url '\(url)' is not an http(s) URL", hint: "e.g. http://127.0.0.1:8080"))
            }
            return problems
        })

    let context: ServingContext
    let client: HTTPClient

    public static func readiness(_ request: ReadinessRequest, client: HTTPClient) async -> [ReadinessCheck] {
        await LocalReadiness(request: request, client: client).checks()
    }

    public init(context: ServingContext, client: HTTPClient) {
        self.context = context
        self.client = client
    }

    /// The ledger's kind for a llama-server this target started.
    public static let ledgerKind = "local-server"

    /// Servers the ledger says a deploy of this endpoint started and nobody confirmed stopped
    /// (a run killed at any moment leaves them there).
    func leftovers(_ endpointName: String) -> [LedgerHolding] {
        context.ledger.holdings(of: context.owner(deployment: endpointName)).filter { $0.resource.kind == Self.ledgerKind }
    }

    /// Stops a server the ledger holds (if it is still ours and alive) and records it gone once
    /// its port is closed; returns the report when it was running.
    func stopHolding(_ holding: LedgerHolding, grace: Double) async -> LlamaServer.StopReport? {
        let report = await LocalServerHandler.stop(holding, grace: grace)
        if report.portClosed { try? context.ledger.record(.deleted, holding.resource, owner: holding.owner) }
        return report.wasRunning ? report : nil
    }

    public func estimatedPricePerHour(_ request: DeployRequest) -> Double? { 0 }

    // MARK: setup

    public func setup(_ request: SetupRequest) async throws -> SetupResult {
        let console = context.console
        let region = request.region ?? "us-east-1"
        var result = SetupResult(runtime: Self.runtime, runtimeVersion: "", region: region, account: "",
                                 imageURI: request.imageURI ?? "", roleARN: "local (no IAM role needed)",
                                 bucket: "\(context.stateDirectory)/artifacts")
        if let url = context.setting("server_url") {
            console.line("Using the OpenAI-compatible server at \(url) (target setting server_url); nothing to install.")
            result.runtimeVersion = "external"
            return result
        }
        let installer = RuntimeInstaller(cacheDirectory: context.cacheDirectory, environment: context.environment)
        let install: LocalRuntimeInstall
        if let found = installer.find() {
            install = found
            console.line("Found the local runtime in \(found.directory)")
        } else {
            console.line("Installing the local runtime into \(installer.directory) (once; later runs find it there).")
            install = try await installer.findOrInstall { text, final in console.progress(text, final: final) }
        }
        let modelPath = context.setting("model_path") ?? install.modelPath
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: modelPath), let size = attrs[.size] as? NSNumber else {
            throw ServingFailure("model file not found: \(modelPath)", detail: "set the local target's model_path to a GGUF file, or leave it empty for the bundled model")
        }
        console.progress("hashing \((modelPath as NSString).lastPathComponent) (\(Format.bytes(size.int64Value)))", final: false)
        let sha = try SHA256Digest.hex(fileAt: modelPath)
        console.progress("model sha256 \(sha)", final: true)
        console.line(Format.table([
            ["", "SageMaker (the tutorial)", "local (this machine)"],
            ["session", "boto3 / sagemaker.Session in \(region)", "no cloud account"],
            ["role", "IAM execution role", "none needed"],
            ["bucket", "sagemaker-\(region)-ACCOUNT", "outputs/…/artifacts"],
            ["image", "Hugging Face TGI container", "\(install.serverPackage) \(install.serverVersion) (llama.cpp llama-server)"],
            ["model", request.modelID ?? "the tutorial's model", "\((modelPath as NSString).lastPathComponent) (\(Format.bytes(size.int64Value)))"],
        ]))
        result.runtimeVersion = "\(install.serverPackage) \(install.serverVersion)"
        result.local = .init(serverBinary: install.serverBinary, modelPath: modelPath, modelBytes: size.intValue, modelSHA256: sha)
        return result
    }

    // MARK: deploy

    public func deploy(_ request: DeployRequest) async throws -> DeployResult {
        let console = context.console
        let started = Date()
        if let url = context.setting("server_url") {
            let ready = try? await client.send(HTTPRequest(url: url.trimmingSlash + "/v1/models", timeout: .seconds(5)))
            guard ready?.status == 200 else {
                throw ServingFailure("the server at \(url) (target setting server_url) does not answer /v1/models",
                                     detail: "start it, or clear server_url to let cellbook start its own")
            }
            console.line("Using the running server at \(url).")
            return DeployResult(endpointName: request.endpointName, url: url.trimmingSlash, status: "InService", model: request.modelID,
                                startupSeconds: 0, startedAt: ISO8601DateFormatter().string(from: started), runtime: Self.runtime,
                                record: ["external": .bool(true), "pid": .int(0), "port": .int(0), "slots": .null, "log_path": .null])
        }
        guard let binary = request.localServerBinary, !binary.isEmpty, let model = request.localModelPath, !model.isEmpty else {
            throw ServingFailure("deploy needs the setup cell's local_server_binary and local_model_path", detail: "run the setup cell first")
        }
        // A server this endpoint started earlier and nobody stopped (the previous deployment, or
        // one a killed run left behind: the ledger says so) would be orphaned: stop it first.
        var previousPort: Int?
        if let previous = request.previous, let pid = previous.record["pid"]?.intValue, pid > 0,
            ChildProcess.isAlive(Int32(pid)), LlamaServer.isOurServer(Int32(pid)) {
            let port = previous.record["port"]?.intValue ?? 0
            console.line("Stopping the previous deployment (pid \(pid), port \(port)) before deploying again.")
            _ = await LlamaServer.stop(pid: Int32(pid), port: port, grace: 10)
        }
        for left in leftovers(request.endpointName) {
            previousPort = previousPort ?? Int(left.details["port"] ?? "")
            if await stopHolding(left, grace: 10) != nil {
                console.line("Stopped llama-server pid \(left.details["pid"] ?? "?") (port \(left.details["port"] ?? "?")), left running by an earlier run, before deploying again.")
            }
        }
        let env = request.environment
        let totalTokens = Int(env["MAX_TOTAL_TOKENS"] ?? "") ?? 4096
        let batchTokens = Int(env["MAX_BATCH_TOTAL_TOKENS"] ?? "") ?? totalTokens
        let slots = context.intSetting("slots") ?? max(1, batchTokens / max(1, totalTokens))
        // Reuse the previous port when free, so the endpoint's address stays the same across redeploys.
        previousPort = request.previous?.record["port"]?.intValue ?? previousPort
        let port = context.intSetting("port")
            ?? previousPort.flatMap { $0 > 0 && !LlamaServer.isPortOpen($0) ? $0 : nil }
            ?? LlamaServer.freePort()
        let logPath = "\(context.workDirectory)/server.log"
        let launch = LlamaServer.Launch(binary: binary, modelPath: model, port: port, slots: slots, tokensPerSlot: totalTokens,
                                        logPath: logPath, threads: context.intSetting("threads") ?? LlamaServer.Launch.defaultThreads)
        console.line(Format.table([
            ["SageMaker setting", "value", "local equivalent"],
            ["HF_MODEL_ID", env["HF_MODEL_ID"] ?? request.modelID, (model as NSString).lastPathComponent],
            ["instance", "\(request.instanceCount) x \(request.instanceType)", "this machine (\(launch.threads) of \(ProcessInfo.processInfo.activeProcessorCount) cores)"],
            ["SM_NUM_GPUS", env["SM_NUM_GPUS"] ?? "-", "CPU only: no sharding"],
            ["MAX_INPUT_LENGTH", env["MAX_INPUT_LENGTH"] ?? "-", "enforced by the context size"],
            ["MAX_TOTAL_TOKENS", String(totalTokens), "--ctx-size per slot: \(totalTokens)"],
            ["MAX_BATCH_TOTAL_TOKENS", String(batchTokens), "--parallel \(slots) (\(slots * totalTokens) tokens in all)"],
            ["MESSAGES_API_ENABLED", env["MESSAGES_API_ENABLED"] ?? "-", "/v1/chat/completions is always on"],
            ["health check timeout", "\(Int(request.healthCheckTimeout)) s", "\(Int(request.healthCheckTimeout)) s for /health"],
        ]))
        // In the ledger before it starts and once it has a pid, so a run killed at any moment
        // leaves it findable by the next run, `cellbook status` and `cellbook cleanup`.
        let resource = LedgerResource(kind: Self.ledgerKind, name: "\(request.endpointName)-\(String(UInt32.random(in: 0...UInt32.max) & 0xffff, radix: 16))")
        let owner = context.owner(deployment: request.endpointName)
        try context.ledger.record(.intent, resource, owner: owner, details: ["port": String(port), "log_path": logPath])
        let pid: Int32
        do {
            pid = try LlamaServer.start(launch, environment: context.environment)
        } catch {
            try? context.ledger.record(.deleted, resource, owner: owner)
            throw error
        }
        try context.ledger.record(.created, resource, owner: owner, details: [
            "pid": String(pid), "port": String(port), "started_at": ISO8601DateFormatter().string(from: started),
        ])
        console.line("Started llama-server: pid \(pid), http://127.0.0.1:\(port), log \(logPath)")
        do {
            try await LlamaServer.waitUntilReady(pid: pid, port: port, timeout: request.healthCheckTimeout, logPath: logPath,
                                                 client: client) { elapsed in
                console.progress("waiting for the server to load the model · \(String(format: "%.1f", elapsed)) s of \(Int(request.healthCheckTimeout)) s", final: false)
            }
        } catch {
            let report = await LlamaServer.stop(pid: pid, port: port, grace: 3)
            if !report.wasRunning || report.portClosed { try? context.ledger.record(.deleted, resource, owner: owner) }
            if error is CancellationError { throw error }
            throw ServingFailure("\(error)")
        }
        let startup = Date().timeIntervalSince(started)
        console.progress("endpoint \(request.endpointName) is InService after \(String(format: "%.1f", startup)) s", final: true)
        return DeployResult(endpointName: request.endpointName, url: LlamaServer.baseURL(port: port), status: "InService",
                            model: (model as NSString).lastPathComponent, startupSeconds: startup,
                            startedAt: ISO8601DateFormatter().string(from: started), runtime: Self.runtime,
                            record: ["external": .bool(false), "pid": .int(Int(pid)), "port": .int(port), "slots": .int(slots),
                                     "log_path": .string(logPath), "ledger_name": .string(resource.name)])
    }

    public func liveness(of deployment: DeployResult) async -> EndpointHealth {
        if deployment.record["external"] == .bool(true) || context.setting("server_url") != nil {
            let url = context.setting("server_url") ?? deployment.url
            let r = try? await client.send(HTTPRequest(url: url.trimmingSlash + "/v1/models", timeout: .seconds(5)))
            return r?.status == 200 ? .alive : .gone("the server at \(url) does not answer")
        }
        guard let pid = deployment.record["pid"]?.intValue, let port = deployment.record["port"]?.intValue else {
            return .gone("the recorded deployment has no pid")
        }
        if !ChildProcess.isAlive(Int32(pid)) { return .gone("server pid \(pid) is not running") }
        if await !LlamaServer.isServing(pid: Int32(pid), port: port, client: client) {
            return .gone("server pid \(pid) does not answer on port \(port)")
        }
        return .alive
    }

    // MARK: chat

    public func chatTransport(for deployment: DeployResult) throws -> any ChatStreamTransport {
        OpenAIChatTransport(client: client, url: deployment.url.trimmingSlash + "/v1/chat/completions")
    }

    /// llama-server has /tokenize; an external server may not, so its usage is probed instead.
    public func tokenCounter(for deployment: DeployResult) -> (any PromptTokenCounter)? {
        guard deployment.record["external"] != .bool(true), context.setting("server_url") == nil else { return nil }
        return ServerTokenizer(client: client, url: deployment.url.trimmingSlash + "/tokenize")
    }

    // MARK: cleanup

    public func cleanup(_ deployment: DeployResult) async throws -> CleanupResult {
        let console = context.console
        if deployment.record["external"] == .bool(true) || context.setting("server_url") != nil {
            console.line("The server at \(deployment.url) was not started by cellbook; leaving it running.")
            return CleanupResult(wasRunning: true, deleted: [], alreadyGone: [], localPortClosed: false, localForced: false)
        }
        let pid = Int32(deployment.record["pid"]?.intValue ?? 0)
        let port = deployment.record["port"]?.intValue ?? 0
        let grace = context.doubleSetting("stop_grace") ?? 10
        var deleted: [String] = []
        var gone: [String] = []
        // A server a killed run left behind for this endpoint goes too.
        for left in leftovers(deployment.endpointName) where Int32(left.details["pid"] ?? "") != pid {
            if await stopHolding(left, grace: grace) != nil {
                console.line("Stopped llama-server pid \(left.details["pid"] ?? "?") (port \(left.details["port"] ?? "?")), left running by an earlier run that was killed.")
                deleted.append("server pid \(left.details["pid"] ?? "?")")
            }
        }
        let report = await LlamaServer.stop(pid: pid, port: port, grace: grace)
        if report.wasRunning {
            console.line("Stopped llama-server pid \(pid)" + (report.forced ? " (SIGKILL after \(Int(grace)) s)" : " (SIGTERM)") + ".")
            deleted.append("server pid \(pid)")
        } else {
            console.line("Endpoint \(deployment.endpointName): server pid \(pid) was already stopped.")
            gone.append("server pid \(pid)")
        }
        guard report.portClosed || port == 0 else {
            throw ServingFailure("port \(port) still accepts connections after stopping pid \(pid)",
                                 detail: "another process listens there; find it with `ss -ltnp | grep :\(port)`")
        }
        // Confirmed stopped: the ledger lets it go.
        for held in leftovers(deployment.endpointName)
        where Int32(held.details["pid"] ?? "") == pid || held.resource.name == deployment.record["ledger_name"]?.stringValue {
            try? context.ledger.record(.deleted, held.resource, owner: held.owner)
        }
        if port > 0 { console.line("Port \(port) is closed.") }
        return CleanupResult(wasRunning: report.wasRunning, deleted: deleted, alreadyGone: gone,
                             localPortClosed: report.portClosed, localForced: report.forced)
    }
}

extension String {
    var trimmingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
