import AWSTestSupport
import CellbookEngine
import CellbookJSON
import CellbookKinds
import Foundation
import PlaybookModel
import Testing

/// The tutorial's default playbook on the sagemaker target, end to end: the control plane is
/// moto (a real AWS emulator, signatures checked), the runtime's response streams come from the
/// fake SageMaker (moto cannot serve them), which checks every signature with botocore.
@Suite("The default playbook on SageMaker (moto + the fake runtime)", .serialized, .timeLimit(.minutes(3)))
struct SageMakerPlaybookTests {
    static let sentinel = "hf_SENTINEL_secret_token_4242"

    struct Run {
        let summary: RunSummary
        let outputs: String
        let runner: PlaybookRunner
    }

    /// Runs playbooks/deploy-llama3.yaml --target sagemaker with a small model on an instance
    /// type moto accepts.
    func run(endpoint: String, secretKey: String? = nil, runtimeURL: String, extra: [String] = [],
             configure: (inout RunOptions) -> Void = { _ in }) async throws -> Run {
        let moto = try MotoKey.shared()
        let home = temporaryDirectory("home")
        // moto refuses the tutorial's instance types (ml.g5, ml.p4d); an older one it accepts is
        // added to the hardware check's catalog through the playbook's instance_catalog param.
        let catalog = home + "/g4dn.json"
        try #"{"schema_version": 1, "instances": [{"name": "ml.g4dn.12xlarge", "accelerator_kind": "gpu", "accelerator_model": "NVIDIA T4", "compute_capability": "7.5", "accelerator_count": 4, "memory_per_accelerator_gb": 16, "total_accelerator_memory_gb": 64, "vcpus": 48, "host_memory_gib": 192, "price_usd_per_hour": null}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        let env = [
            "HOME": home, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtimeURL,
            "AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": secretKey ?? moto.secretAccessKey,
            "AWS_REGION": "us-east-1", "HF_TOKEN": Self.sentinel,
            // ml.g4dn.12xlarge has no price in cellbook's catalog: the budget guard wants a yes.
            "CELLBOOK_YES": "1",
        ]
        let sets = ["instance_type=ml.g4dn.12xlarge", "model_id=meta-llama/Meta-Llama-3-8B-Instruct", "sm_num_gpus=4",
                    "endpoint_name=\(endpoint)", "bench_requests=6", "bench_concurrency=2", "bench_mean_output_tokens=12",
                    "bench_stddev_output_tokens=2", "bench_mean_input_tokens=64", "bench_stddev_input_tokens=8", "max_tokens=24",
                    "health_check_timeout=600", "instance_catalog=\(catalog)"] + extra
        let path = repositoryRoot.appendingPathComponent("playbooks/deploy-llama3.yaml").path
        let config = try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: env)
            .load(path: path, target: "sagemaker", overrides: sets)
        let outputs = temporaryDirectory("sagemaker-outputs")
        let runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: outputs, cacheDirectory: home + "/cache", environment: env)
        var options = RunOptions()
        configure(&options)
        return Run(summary: try await runner.run(options), outputs: outputs, runner: runner)
    }

    /// What moto holds for `endpoint`, asked with boto3 (an independent client).
    func motoResources(_ endpoint: String) throws -> String {
        let moto = try MotoKey.shared()
        let script = """
            import boto3, sys
            sm = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=sys.argv[1],
                              aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            found = []
            found += ["endpoint " + e["EndpointName"] for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"] == sys.argv[4]]
            found += ["config " + c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"] if c["EndpointConfigName"] == sys.argv[4]]
            found += ["model " + m["ModelName"] for m in sm.list_models()["Models"] if m["ModelName"] == sys.argv[4]]
            print(",".join(found))
            """
        let (status, text) = try runCommand([testPython, "-c", script, moto.endpoint, moto.accessKeyID, moto.secretAccessKey, endpoint])
        #expect(status == 0, "boto3 check failed: \(text)")
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every file under `dir`, as text (binary files too: a secret must not be in any byte).
    func everything(under dir: String) -> String {
        var all = ""
        let files = FileManager.default.enumerator(atPath: dir)
        while let f = files?.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: "\(dir)/\(f)") { all += String(decoding: data, as: UTF8.self) }
        }
        return all
    }

    @Test("every cell runs signed against moto and the fake runtime; nothing is left afterwards; the token is nowhere")
    func wholePlaybook() async throws {
        let moto = try MotoKey.shared()
        let fake = try startFakeSageMaker(scenario: #"{"runtime": {"ttft_ms": 5, "itl_ms": 1, "payload_split": "awkward", "write_split": "awkward"}}"#,
                                          accessKeyID: moto.accessKeyID, secretAccessKey: moto.secretAccessKey)
        defer { fake.stop() }
        let name = "cb-e2e-\(UInt32.random(in: 0...UInt32.max))"
        let r = try await run(endpoint: name, runtimeURL: fake.endpoint)
        #expect(r.summary.exitCode == 0, "\(r.summary.cells.map { "\($0.id): \($0.status) \($0.error ?? "")" })")
        #expect(r.summary.cells.map(\.status) == Array(repeating: .ran, count: 6))
        let outputs = Dictionary(r.summary.cells.map { ($0.id, $0.outputs ?? [:]) }, uniquingKeysWith: { a, _ in a })
        #expect(outputs["setup"]?["account"] == "123456789012")
        #expect(outputs["setup"]?["role_arn"] == "arn:aws:iam::123456789012:role/sagemaker_execution_role")
        #expect(outputs["setup"]?["bucket"] == "sagemaker-us-east-1-123456789012")
        #expect(outputs["setup"]?["local_model_path"] == .null)
        #expect(outputs["deploy"]?["status"] == "InService")
        #expect(outputs["deploy"]?["runtime"] == "sagemaker")
        #expect(outputs["deploy"]?["url"]?.stringValue == "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/\(name)/invocations")
        #expect(outputs["deploy"]?["deployment"]?["instance_type"] == "ml.g4dn.12xlarge")
        #expect((outputs["chat"]?["content"]?.stringValue ?? "").isEmpty == false)
        #expect(outputs["chat"]?["usage_source"] == "server usage")
        #expect(outputs["benchmark"]?["completed_requests"] == 6)
        #expect(outputs["benchmark"]?["error_rate"] == .double(0))
        #expect(outputs["cleanup"]?["deleted"] == .array([.string("endpoint \(name)"), .string("endpoint configuration \(name)"), .string("model \(name)")]))
        // The benchmark's summary names the target that served it.
        let summaryFile = try #require(outputs["benchmark"]?["summary_file"]?.stringValue)
        let summary = try JSONValue.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: summaryFile))))
        #expect(summary["target"] == .string("sagemaker"))
        #expect(summary["runtime"] == .string("sagemaker"))
        // moto, asked by boto3: no model, configuration or endpoint left.
        #expect(try motoResources(name) == "")
        // The fake runtime verified every signature (chat and benchmark streams).
        guard case .array(let log)? = try await fakeJSON(fake, "/_fake/log")["requests"] else { Issue.record("no fake log"); return }
        #expect(log.count >= 7)
        #expect(log.allSatisfy { $0["signature"] == .string("ok") })
        #expect(!everything(under: r.outputs).contains(Self.sentinel), "the Hugging Face token was written somewhere")
    }

    @Test("a wrong secret key fails setup with an authentication error, exit 1, and nothing is recorded as deployed")
    func wrongSecretKey() async throws {
        let name = "cb-e2e-badkey-\(UInt32.random(in: 0...UInt32.max))"
        let r = try await run(endpoint: name, secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY", runtimeURL: "http://127.0.0.1:9")
        #expect(r.summary.exitCode == 1)
        let setup = try #require(r.summary.cells.first { $0.id == "setup" })
        #expect(setup.status == .failed)
        let error = setup.error ?? ""
        #expect(error.contains("SignatureDoesNotMatch") || error.contains("InvalidClientTokenId"), "\(error)")
        #expect(error.contains("AWS_SECRET_ACCESS_KEY"), "the message says what to check: \(error)")
        #expect(!error.contains("WRONGKEY"), "the secret key is never printed")
        #expect(r.summary.cells.first { $0.id == "deploy" } == nil)
        let state = try r.runner.store.load(playbook: "deploy-llama3", target: "sagemaker")
        #expect(state.cells["deploy"] == nil)
        #expect(try motoResources(name) == "")
    }
}
