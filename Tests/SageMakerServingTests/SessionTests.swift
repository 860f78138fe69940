import AWSTestSupport
import CellbookJSON
import Foundation
import Testing

/// Workshop sessions on moto (signatures checked): two attendees deploy the same playbook side by
/// side under names of their own, one is swept alone, and a trainer's sweep by tag finds the
/// other with the ledger deleted.
@Suite("Workshop sessions on moto", .serialized, .timeLimit(.minutes(5)))
struct SessionTests {
    func environment(home: String) throws -> [String: String] {
        let moto = try MotoKey.shared()
        return ["HOME": home, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.accessKeyID,
                "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey, "AWS_REGION": "us-east-1", "HF_TOKEN": "hf_session_test_token",
                "CELLBOOK_YES": "1", "NO_COLOR": "1"]
    }

    /// Endpoints moto holds whose names start with `prefix`, asked with boto3.
    func motoEndpoints(_ prefix: String) throws -> [String] {
        let moto = try MotoKey.shared()
        let script = """
            import boto3, sys
            sm = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=sys.argv[1],
                              aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            names = [e["EndpointName"] for e in sm.list_endpoints(MaxResults=100)["Endpoints"]]
            names += ["config " + c["EndpointConfigName"] for c in sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]]
            names += ["model " + m["ModelName"] for m in sm.list_models(MaxResults=100)["Models"]]
            print("\\n".join(n for n in names if sys.argv[4] in n))
            """
        let (status, text) = try runCommand([testPython, "-c", script, moto.endpoint, moto.accessKeyID, moto.secretAccessKey, prefix])
        #expect(status == 0, "\(text)")
        return text.split(separator: "\n").map(String.init).sorted()
    }

    @Test("two sessions deploy side by side without a name clash; each is swept alone, then a sweep by tag finds the rest without a ledger")
    func sessionsSideBySide() async throws {
        let dir = temporaryDirectory("sessions")
        let env = try environment(home: dir)
        let catalog = "\(dir)/g4dn.json"
        try #"{"schema_version": 1, "instances": [{"name": "ml.g4dn.12xlarge", "accelerator_kind": "gpu", "accelerator_model": "NVIDIA T4", "compute_capability": "7.5", "accelerator_count": 4, "memory_per_accelerator_gb": 16, "total_accelerator_memory_gb": 64, "vcpus": 48, "host_memory_gib": 192, "price_usd_per_hour": null}]}"#
            .write(toFile: catalog, atomically: true, encoding: .utf8)
        // A long playbook endpoint name: with a session it must still fit SageMaker's 63 characters.
        let base = "cb-sessions-\(UInt16.random(in: 0...UInt16.max))-a-rather-long-endpoint-name-for-llama3-70b"
        // The default playbook under a name of its own: the all-at-once sweep's tag scope then
        // holds only this test's resources, whatever else runs against the shared moto.
        let playbook = "\(dir)/deploy-llama3-sessions.yaml"
        try String(contentsOfFile: repositoryRoot.appendingPathComponent("playbooks/deploy-llama3.yaml").path, encoding: .utf8)
            .replacingOccurrences(of: "\nname: deploy-llama3\n", with: "\nname: deploy-llama3-sessions\n")
            .write(toFile: playbook, atomically: true, encoding: .utf8)
        let outputs = ["--outputs", "\(dir)/outputs"]
        func deploy(_ session: String) throws -> CellbookProcess {
            try CellbookProcess(["run", playbook, "--target", "sagemaker", "--until", "deploy", "--session", session,
                                 "--set", "instance_type=ml.g4dn.12xlarge", "--set", "model_id=meta-llama/Meta-Llama-3-8B-Instruct",
                                 "--set", "sm_num_gpus=4", "--set", "endpoint_name=\(base)", "--set", "instance_catalog=\(catalog)"] + outputs,
                                environment: env)
        }
        let alice = try deploy("alice")
        let bob = try deploy("bob")
        let (a, b) = await (Task.detached { alice.wait() }.value, Task.detached { bob.wait() }.value)
        #expect(a == 0, "\(alice.text)")
        #expect(b == 0, "\(bob.text)")
        let endpoints = try motoEndpoints("cb-sessions").filter { !$0.hasPrefix("config ") && !$0.hasPrefix("model ") }
            .filter { $0.hasPrefix(String(base.prefix(20))) }
        #expect(endpoints.count == 2, "\(endpoints)")
        #expect(endpoints.allSatisfy { $0.count <= 63 })
        #expect(endpoints.contains { $0.hasSuffix("-alice") } && endpoints.contains { $0.hasSuffix("-bob") })

        // The Hugging Face token went into the model's container environment (CreateModel), and
        // nowhere else.
        let moto = try MotoKey.shared()
        let aliceEndpoint = try #require(endpoints.first { $0.hasSuffix("-alice") })
        let (_, tokenText) = try runCommand([testPython, "-c", """
            import boto3, sys
            sm = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=sys.argv[1],
                              aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            print(sm.describe_model(ModelName=sys.argv[4])["PrimaryContainer"]["Environment"].get("HUGGING_FACE_HUB_TOKEN"))
            """, moto.endpoint, moto.accessKeyID, moto.secretAccessKey, aliceEndpoint])
        #expect(tokenText.trimmingCharacters(in: .whitespacesAndNewlines) == "hf_session_test_token")
        var written = ""
        let files = FileManager.default.enumerator(atPath: "\(dir)/outputs")
        while let f = files?.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: "\(dir)/outputs/\(f)") { written += String(decoding: data, as: UTF8.self) }
        }
        #expect(!written.contains("hf_session_test_token"), "the token was written under outputs/")
        #expect(!alice.text.contains("hf_session_test_token") && !bob.text.contains("hf_session_test_token"))

        // Each session has its own state.
        #expect(FileManager.default.fileExists(atPath: "\(dir)/outputs/deploy-llama3-sessions/sagemaker/sessions/alice/state.json"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/outputs/deploy-llama3-sessions/sagemaker/sessions/bob/state.json"))

        // Alice's cleanup deletes hers only.
        let (c1, t1) = try await cellbook(["cleanup", playbook, "--session", "alice"] + outputs, environment: env)
        #expect(c1 == 0, "\(t1)")
        let left = try motoEndpoints(String(base.prefix(20)))
        #expect(!left.contains { $0.hasSuffix("-alice") }, "\(left)")
        #expect(left.contains { $0.hasSuffix("-bob") }, "\(left)")

        // Bob's laptop died with its ledger: the trainer's sweep finds his resources by their tags.
        try FileManager.default.removeItem(atPath: "\(dir)/outputs/ledger.jsonl")
        let (c2, t2) = try await cellbook(["cleanup", playbook, "--all-sessions"] + outputs, environment: env)
        #expect(c2 == 0, "\(t2)")
        #expect(t2.contains("found by its tags"), "\(t2)")
        #expect(try motoEndpoints(String(base.prefix(20))).isEmpty)
    }

    @Test("the same session refuses a second concurrent run, naming the holder")
    func sameSessionLocked() async throws {
        let dir = temporaryDirectory("session-lock")
        var env = try environment(home: dir)
        env["CELLBOOK_SESSION"] = "carol"
        let yaml = """
            name: lock-demo
            cells:
              - id: slow
                kind: shell
                with:
                  command: sleep 3
            """
        try yaml.write(toFile: "\(dir)/lock-demo.yaml", atomically: true, encoding: .utf8)
        let first = try CellbookProcess(["run", "\(dir)/lock-demo.yaml", "--outputs", "\(dir)/outputs"], environment: env)
        #expect(await first.waitFor("slow"))
        let (code, text) = try await cellbook(["run", "\(dir)/lock-demo.yaml", "--outputs", "\(dir)/outputs"], environment: env)
        #expect(code == 2)
        #expect(text.contains("another cellbook run holds the state"), "\(text)")
        var other = env
        other["CELLBOOK_SESSION"] = "dave"
        let (code2, text2) = try await cellbook(["run", "\(dir)/lock-demo.yaml", "--outputs", "\(dir)/outputs", "--session", "dave"], environment: other)
        #expect(code2 == 0, "another session is not blocked: \(text2)")
        #expect(first.wait() == 0)
    }
}
