import SystemKit
import CellbookEngine
import CellbookHTTP
import Foundation
import LoadBench
import LocalRuntime
import PlaybookModel

/// The embedded default target: a real llama.cpp server with a small real model on this
/// machine, the way SageMaker's local mode runs the container on the user's machine.
///
/// Target settings: `model_path` (a GGUF file instead of the bundled model), `server_url`
/// (an already running OpenAI-compatible server: nothing is installed or started), `port`,
/// `slots` (concurrent sequences), `threads` (CPU threads; default: the cores free now),
/// `stop_grace` (seconds before SIGKILL on cleanup).
public struct LocalTarget: ServingTarget {
    public static let runtime = "local"

    let context: CellContext
    let client: HTTPClient

    public init(context: CellContext, client: HTTPClient) {
        self.context = context
        self.client = client
    }

    private func setting(_ key: String) -> String? {
        guard let v = context.setting(key), !v.isNull else { return nil }
        let s = v.interpolationText
        return s.isEmpty ? nil : s
    }

    // MARK: setup

    public func setup() async throws -> [String: Value] {
        let console = context.console
        let region = context.string("region", default: "us-east-1")
        var out: [String: Value] = [
            "region": .string(region),
            "image_uri": .string(context.string("image_uri", default: "")),
            "role_arn": "local (no IAM role needed)",
            "bucket": .string((context.workDirectory as NSString).deletingLastPathComponent + "/artifacts"),
            "runtime": "local",
        ]
        if let url = setting("server_url") {
            console.line("Using the OpenAI-compatible server at \(url) (target setting server_url); nothing to install.")
            out["runtime_version"] = "external"
            out["server_binary"] = ""
            out["model_path"] = ""
            out["model_bytes"] = 0
            out["model_sha256"] = ""
            return out
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
        let modelPath = setting("model_path") ?? install.modelPath
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: modelPath), let size = attrs[.size] as? NSNumber else {
            throw CellFailure("model file not found: \(modelPath)", detail: "set the local target's model_path to a GGUF file, or leave it empty for the bundled model")
        }
        console.progress("hashing \((modelPath as NSString).lastPathComponent) (\(Format.bytes(size.int64Value)))")
        let sha = try SHA256Digest.hex(fileAt: modelPath)
        console.progress("model sha256 \(sha)", final: true)
        let rows = [
            ["", "SageMaker (the tutorial)", "local (this machine)"],
            ["session", "boto3 / sagemaker.Session in \(region)", "no cloud account"],
            ["role", "IAM execution role", "none needed"],
            ["bucket", "sagemaker-\(region)-ACCOUNT", "outputs/…/artifacts"],
            ["image", "Hugging Face TGI container", "\(install.serverPackage) \(install.serverVersion) (llama.cpp llama-server)"],
            ["model", context.string("model_id", default: "the tutorial's model"), "\((modelPath as NSString).lastPathComponent) (\(Format.bytes(size.int64Value)))"],
        ]
        console.line(Format.table(rows))
        out["runtime_version"] = .string("\(install.serverPackage) \(install.serverVersion)")
        out["server_binary"] = .string(install.serverBinary)
        out["model_path"] = .string(modelPath)
        out["model_bytes"] = .int(size.intValue)
        out["model_sha256"] = .string(sha)
        return out
    }

    // MARK: deploy

    public func deploy(_ request: DeployRequest) async throws -> [String: Value] {
        let console = context.console
        if let url = setting("server_url") {
            let ready = try? await client.send(HTTPRequest(url: url.trimmingSlash + "/v1/models", timeout: .seconds(5)))
            guard ready?.status == 200 else {
                throw CellFailure("the server at \(url) (target setting server_url) does not answer /v1/models",
                                  detail: "start it, or clear server_url to let cellbook start its own")
            }
            console.line("Using the running server at \(url).")
            return ["endpoint_name": .string(request.endpointName), "url": .string(url.trimmingSlash), "pid": 0, "port": 0,
                    "status": "InService", "model": .string(request.modelID), "startup_s": 0.0, "log_path": ""]
        }
        guard let binary = request.setup["server_binary"]?.stringValue, !binary.isEmpty,
            let model = request.setup["model_path"]?.stringValue, !model.isEmpty
        else {
            throw CellFailure("deploy needs the setup cell's server_binary and model_path", detail: "run the setup cell first")
        }
        // A previous deployment of this cell that is still up would be orphaned: stop it first.
        if let prev = context.previousOutputs, let pid = prev["pid"]?.intValue, pid > 0, let port = prev["port"]?.intValue,
            ChildProcess.isAlive(Int32(pid)) {
            console.line("Stopping the previous deployment (pid \(pid), port \(port)) before deploying again.")
            _ = await LlamaServer.stop(pid: Int32(pid), port: port, grace: 10)
        }
        let env = request.environment
        let totalTokens = Int(env["MAX_TOTAL_TOKENS"] ?? "") ?? 4096
        let batchTokens = Int(env["MAX_BATCH_TOTAL_TOKENS"] ?? "") ?? totalTokens
        let slots = setting("slots").flatMap { Int($0) } ?? max(1, batchTokens / max(1, totalTokens))
        // Reuse the previous port when free, so the endpoint's address stays the same across redeploys.
        let port = setting("port").flatMap { Int($0) }
            ?? context.previousOutputs?["port"]?.intValue.flatMap { LlamaServer.isPortOpen($0) ? nil : $0 }
            ?? LlamaServer.freePort()
        let logPath = "\(context.workDirectory)/server.log"
        let launch = LlamaServer.Launch(binary: binary, modelPath: model, port: port, slots: slots, tokensPerSlot: totalTokens,
                                        logPath: logPath, threads: setting("threads").flatMap { Int($0) } ?? LlamaServer.Launch.defaultThreads)
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
        let started = Date()
        let pid = try LlamaServer.start(launch, environment: context.environment)
        // Recorded before waiting, so a killed run still lets cleanup find the server.
        try? AtomicFile.write("\(pid) \(port)\n", to: "\(context.workDirectory)/server.pid")
        console.line("Started llama-server: pid \(pid), http://127.0.0.1:\(port), log \(logPath)")
        do {
            try await LlamaServer.waitUntilReady(pid: pid, port: port, timeout: request.healthCheckTimeout, logPath: logPath,
                                                 client: client) { elapsed in
                console.progress("waiting for the server to load the model · \(String(format: "%.1f", elapsed)) s of \(Int(request.healthCheckTimeout)) s")
            }
        } catch {
            _ = await LlamaServer.stop(pid: pid, port: port, grace: 3)
            if error is CancellationError { throw error }
            throw CellFailure("\(error)")
        }
        let startup = Date().timeIntervalSince(started)
        console.progress("endpoint \(request.endpointName) is InService after \(String(format: "%.1f", startup)) s", final: true)
        return [
            "endpoint_name": .string(request.endpointName),
            "url": .string(LlamaServer.baseURL(port: port)),
            "pid": .int(Int(pid)),
            "port": .int(port),
            "status": "InService",
            "model": .string((model as NSString).lastPathComponent),
            "startup_s": .double((startup * 1000).rounded() / 1000),
            "started_at": .string(ISO8601DateFormatter().string(from: started)),
            "slots": .int(slots),
            "log_path": .string(logPath),
        ]
    }

    public func liveness(of deployment: [String: Value]) async -> Liveness {
        if let url = setting("server_url") {
            let r = try? await client.send(HTTPRequest(url: url.trimmingSlash + "/v1/models", timeout: .seconds(5)))
            return r?.status == 200 ? .alive : .gone("the server at \(url) does not answer")
        }
        guard let pid = deployment["pid"]?.intValue, let port = deployment["port"]?.intValue else {
            return .gone("the recorded deployment has no pid")
        }
        if !ChildProcess.isAlive(Int32(pid)) { return .gone("server pid \(pid) is not running") }
        if await !LlamaServer.isServing(pid: Int32(pid), port: port, client: client) {
            return .gone("server pid \(pid) does not answer on port \(port)")
        }
        return .alive
    }

    // MARK: chat

    public func chatStream(_ endpoint: EndpointRef, request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error> {
        client.streamChat(url: endpoint.url.trimmingSlash + "/v1/chat/completions", request: request, timeout: .seconds(600))
    }

    public func loadTransport(_ endpoint: EndpointRef) -> (any ChatStreamTransport, PromptLengthCalibration) {
        let base = endpoint.url.trimmingSlash
        let transport = OpenAIChatTransport(client: client, url: base + "/v1/chat/completions")
        // llama-server has /tokenize; an external server may not, so probe its usage instead.
        let calibration: PromptLengthCalibration = setting("server_url") == nil
            ? .tokenizer(ServerTokenizer(client: client, url: base + "/tokenize", dialect: .llamaCpp)) : .probe
        return (transport, calibration)
    }

    // MARK: cleanup

    public func cleanup(_ endpoint: EndpointRef, deployment: [String: Value]) async throws -> [String: Value] {
        let console = context.console
        if setting("server_url") != nil {
            console.line("The server at \(endpoint.url) was not started by cellbook; leaving it running.")
            return ["stopped": false, "was_running": true, "port_closed": false, "forced": false]
        }
        let pid = Int32(deployment["pid"]?.intValue ?? 0)
        let port = deployment["port"]?.intValue ?? 0
        let grace = setting("stop_grace").flatMap { Double($0) } ?? 10
        let report = await LlamaServer.stop(pid: pid, port: port, grace: grace)
        if report.wasRunning {
            console.line("Stopped llama-server pid \(pid)" + (report.forced ? " (SIGKILL after \(Int(grace)) s)" : " (SIGTERM)") + ".")
        } else {
            console.line("Endpoint \(endpoint.name): server pid \(pid) was already stopped.")
        }
        guard report.portClosed || port == 0 else {
            throw CellFailure("port \(port) still accepts connections after stopping pid \(pid)",
                              detail: "another process listens there; find it with `ss -ltnp | grep :\(port)`")
        }
        if port > 0 { console.line("Port \(port) is closed.") }
        return ["stopped": .bool(report.wasRunning), "was_running": .bool(report.wasRunning),
                "port_closed": .bool(report.portClosed), "forced": .bool(report.forced)]
    }
}

extension String {
    var trimmingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
