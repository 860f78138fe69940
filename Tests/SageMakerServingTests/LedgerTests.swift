import AWSTestSupport
import CellbookHTTP
import CellbookJSON
import Foundation
import ServingKit
import Testing

/// Nothing outlives a session unnoticed: a run killed at any step of a deploy leaves a ledger
/// from which `cellbook status` finds everything and `cellbook cleanup` deletes it; a lost ledger
/// is made up for by the sweep by tag; the budget guard stops an expensive deploy; sessions
/// deploy side by side. Driven through the real `cellbook` binary, killed with SIGKILL.
@Suite("Ledger, status, sweep, budget and sessions", .serialized, .timeLimit(.minutes(5)))
struct LedgerTests {
    struct Setup {
        let fake: FakeServerProcess
        let dir: String
        let playbook: String
        let env: [String: String]
        let endpoint: String

        init(scenario: String, instanceType: String = "ml.g5.12xlarge") throws {
            fake = try startFakeSageMaker(scenario: scenario, accessKeyID: SageMakerFakeTests.key.0, secretAccessKey: SageMakerFakeTests.key.1)
            dir = temporaryDirectory("ledger")
            endpoint = "ledger-\(UInt32.random(in: 0...UInt32.max))"
            playbook = "\(dir)/sm-fake.yaml"
            try SageMakerFakeTests.playbook(endpoint: endpoint).replacingOccurrences(of: "ml.g5.12xlarge", with: instanceType)
                .write(toFile: playbook, atomically: true, encoding: .utf8)
            env = ["HOME": dir, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                   "AWS_ENDPOINT_URL": fake.endpoint, "AWS_ACCESS_KEY_ID": SageMakerFakeTests.key.0,
                   "AWS_SECRET_ACCESS_KEY": SageMakerFakeTests.key.1, "AWS_REGION": "us-east-1", "NO_COLOR": "1"]
        }

        var outputs: [String] { ["--outputs", "\(dir)/outputs"] }

        func ops() async throws -> [String] {
            guard case .array(let requests)? = try await fakeJSON(fake, "/_fake/log")["requests"] else { return [] }
            return requests.compactMap { $0["op"]?.stringValue }
        }

        /// What the fake holds now: the names of its models, configurations and endpoints.
        func held() async throws -> [String] {
            let state = try await fakeJSON(fake, "/_fake/state")
            var names: [String] = []
            for key in ["models", "endpoint_configs"] {
                if case .array(let items)? = state[key] { names += items.compactMap(\.stringValue).map { "\(key) \($0)" } }
            }
            if case .object(let endpoints)? = state["endpoints"] { names += endpoints.keys.map { "endpoints \($0)" } }
            return names
        }

        func status() async throws -> JSONValue {
            let (code, text) = try await cellbook(["status", "--format", "json"] + outputs, environment: env)
            #expect(code == 0, "\(text)")
            return try JSONValue.parse(bytes: Array(text.utf8))
        }
    }

    /// Waits until the fake has received `op` (the call is then in flight, slowed by a delay).
    func waitForRequest(_ s: Setup, _ op: String, after: Int = 0) async throws {
        for _ in 0..<400 {
            if try await s.ops().filter({ $0 == op }).count > after { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the fake never received \(op)")
    }

    @Test("kill -9 before, during and between the create calls and while waiting: status finds what exists, cleanup deletes it all",
          arguments: ["DeleteEndpointConfig", "CreateModel", "CreateEndpointConfig", "CreateEndpoint", "waiting"])
    func killedDuringDeploy(step: String) async throws {
        let scenario = step == "waiting" ? #"{"creating_polls": 100000}"# : #"{"delays": {"\#(step)": 1500}}"#
        let s = try Setup(scenario: scenario)
        defer { s.fake.stop() }
        let run = try CellbookProcess(["run", s.playbook, "--until", "deploy"] + s.outputs, environment: s.env)
        if step == "waiting" {
            try await waitForRequest(s, "DescribeEndpoint", after: 2)
        } else {
            try await waitForRequest(s, step)
        }
        run.killHard()
        // The slowed call still takes effect on the server, as AWS would carry it out.
        try await Task.sleep(for: .milliseconds(step == "waiting" ? 100 : 1700))

        let status = try await s.status()
        guard case .array(let resources)? = status["resources"] else { Issue.record("no resources in \(status)"); return }
        let kinds = Set(resources.compactMap { $0["kind"]?.stringValue })
        switch step {
        case "DeleteEndpointConfig": #expect(kinds.isEmpty, "nothing was created yet: \(resources)")
        case "CreateModel": #expect(kinds == ["sagemaker-model"])
        case "CreateEndpointConfig": #expect(kinds == ["sagemaker-model", "sagemaker-endpoint-config"])
        default: #expect(kinds == ["sagemaker-model", "sagemaker-endpoint-config", "sagemaker-endpoint"])
        }
        if step == "waiting" {
            let endpoint = resources.first { $0["kind"] == .string("sagemaker-endpoint") }
            #expect(endpoint?["check_detail"] == .string("Creating"))
            #expect(endpoint?["price_usd_per_hour"] == .double(7.09))
            #expect(endpoint?["delete_command"]?.stringValue == "cellbook cleanup sm-fake")
        }
        #expect(try await s.held().count == kinds.count, "the fake holds what the ledger says")
        let (code, text) = try await cellbook(["cleanup", s.playbook] + s.outputs, environment: s.env)
        #expect(code == 0, "\(text)")
        let held = try await s.held()
        #expect(held.isEmpty, "left behind after cleanup: \(held)")
        let after = try await s.status()
        #expect(after["alive"] == .int(0))
        #expect(after["resources"] == .array([]))
    }

    @Test("the budget guard refuses a deploy above the limit before anything is created, and allows it when the limit is raised")
    func budgetGuard() async throws {
        let s = try Setup(scenario: "{}", instanceType: "ml.p4d.24xlarge")
        defer { s.fake.stop() }
        let (refused, text) = try await cellbook(["run", s.playbook, "--until", "deploy"] + s.outputs, environment: s.env)
        #expect(refused == 1)
        #expect(text.contains("about $37.69 per hour"), "\(text)")
        #expect(text.contains("above the limit of $10.00 per hour"))
        #expect(text.contains("--yes"))
        #expect(try await s.ops().allSatisfy { !$0.hasPrefix("Create") }, "nothing was created")
        let (allowed, text2) = try await cellbook(["run", s.playbook, "--until", "deploy", "--max-usd-per-hour", "40"] + s.outputs,
                                                  environment: s.env)
        #expect(allowed == 0, "\(text2)")
        #expect(try await s.ops().filter { $0 == "CreateEndpoint" }.count == 1)
        #expect(try await cellbook(["cleanup", s.playbook] + s.outputs, environment: s.env).0 == 0)
    }

    @Test("a delete that keeps failing is reported for that resource, exit 1, and the ledger keeps it; a second cleanup finishes")
    func partialCleanupFailure() async throws {
        let s = try Setup(scenario: "{}")
        defer { s.fake.stop() }
        #expect(try await cellbook(["run", s.playbook, "--until", "deploy"] + s.outputs, environment: s.env).0 == 0)
        // Every DeleteEndpoint fails (after the retries) until the scenario changes.
        _ = try await HTTPClientPost.post(s.fake.endpoint + "/_fake/scenario", #"{"faults": {"DeleteEndpoint": {"internal": 50}}}"#)
        let (code, text) = try await cellbook(["cleanup", s.playbook] + s.outputs, environment: s.env)
        #expect(code == 1)
        #expect(text.contains("failed: sagemaker endpoint \(s.endpoint)"), "\(text)")
        #expect(text.contains("deleted: sagemaker endpoint config") == false, "the configuration of a live endpoint is left for later")
        let status = try await s.status()
        guard case .array(let resources)? = status["resources"] else { Issue.record("no resources"); return }
        #expect(resources.contains { $0["kind"] == .string("sagemaker-endpoint") }, "the ledger still holds the endpoint")
        _ = try await HTTPClientPost.post(s.fake.endpoint + "/_fake/scenario", "{}")
        let (again, text2) = try await cellbook(["cleanup", s.playbook] + s.outputs, environment: s.env)
        #expect(again == 0, "\(text2)")
        #expect(try await s.held().isEmpty)
    }

    @Test("ttl: status marks a deployment past its limit, and cleanup --expired deletes only those")
    func expiredDeployments() async throws {
        let s = try Setup(scenario: "{}")
        defer { s.fake.stop() }
        // A ttl of one second.
        let yaml = try String(contentsOfFile: s.playbook, encoding: .utf8)
            .replacingOccurrences(of: "      poll_interval: 0.05", with: "      poll_interval: 0.05\n      ttl: 1s")
        try yaml.write(toFile: s.playbook, atomically: true, encoding: .utf8)
        #expect(try await cellbook(["run", s.playbook, "--until", "deploy"] + s.outputs, environment: s.env).0 == 0)
        try await Task.sleep(for: .milliseconds(1200))
        let status = try await s.status()
        guard case .array(let resources)? = status["resources"] else { Issue.record("no resources"); return }
        #expect(resources.contains { $0["kind"] == .string("sagemaker-endpoint") && $0["expired"] == .bool(true) })
        let (code, text) = try await cellbook(["cleanup", "--all", "--all-sessions", "--expired"] + s.outputs, environment: s.env)
        #expect(code == 0, "\(text)")
        #expect(text.contains("deleted: sagemaker endpoint \(s.endpoint)"))
        #expect(try await s.held().isEmpty)
    }

    @Test("local target: kill -9 right after the server starts; status finds the server alive, cleanup stops it")
    func killedAfterLocalServerStarts() async throws {
        let dir = temporaryDirectory("ledger-local")
        let inherited = ProcessInfo.processInfo.environment
        let env = ["HOME": dir, "PATH": inherited["PATH"] ?? "/usr/bin:/bin", "NO_COLOR": "1",
                   "CELLBOOK_CACHE": inherited["CELLBOOK_CACHE"] ?? "\(inherited["HOME"] ?? "/root")/.cache/cellbook"]
        let playbook = repositoryRoot.appendingPathComponent("playbooks/deploy-llama3.yaml").path
        let outputs = ["--outputs", "\(dir)/outputs"]
        let run = try CellbookProcess(["run", playbook, "--until", "deploy"] + outputs, environment: env)
        #expect(await run.waitFor("Started llama-server", seconds: 120), "\(run.text)")
        run.killHard()

        let (code, text) = try await cellbook(["status", "--format", "json"] + outputs, environment: env)
        #expect(code == 0, "\(text)")
        let status = try JSONValue.parse(bytes: Array(text.utf8))
        guard case .array(let resources)? = status["resources"], let server = resources.first else {
            Issue.record("status shows no server: \(text)")
            return
        }
        #expect(server["kind"] == .string("local-server"))
        #expect(server["check"] == .string("alive"))
        #expect(server["price_usd_per_hour"]?.doubleValue == 0)
        let (cleaned, cleanText) = try await cellbook(["cleanup", playbook] + outputs, environment: env)
        #expect(cleaned == 0, "\(cleanText)")
        #expect(cleanText.contains("deleted: local server"))
        let (_, after) = try await cellbook(["status"] + outputs, environment: env)
        #expect(after.contains("Nothing cellbook created is alive"), "\(after)")
    }
}

/// POSTs a JSON body to a fake's control route.
enum HTTPClientPost {
    static func post(_ url: String, _ body: String) async throws -> Int {
        let response = try await HTTPClient().send(HTTPRequest(method: "POST", url: url, headers: ["Content-Type": "application/json"],
                                                               body: Array(body.utf8)))
        return response.status
    }
}
