import AWSTestSupport
import CellbookEngine
import CellbookHTTP
import CellbookJSON
import CellbookKinds
import CellbookRecording
import Foundation
import PlaybookModel
@testable import SageMakerServing
import ServingKit
import Testing

/// What moto cannot do, against the fake SageMaker: endpoints that take time and fail, throttling
/// and 503s, a stream that breaks mid-answer, a run stopped while it waits.
@Suite("The sagemaker target against the fake SageMaker", .serialized, .timeLimit(.minutes(3)))
struct SageMakerFakeTests {
    static let key = ("AKIDFAKECELLBOOK", "fake/secret/key/for/the/fake/sagemaker")

    static func playbook(endpoint: String, extraSettings: String = "") -> String {
        """
        name: sm-fake
        title: SageMaker against the fake
        targets:
          sagemaker:
            settings:
              runtime: sagemaker
              poll_interval: 0.05
        \(extraSettings)
        cells:
          - id: deploy
            kind: deploy
            with:
              endpoint_name: \(endpoint)
              model_id: meta-llama/Meta-Llama-3-8B-Instruct
              instance_type: ml.g5.12xlarge
              health_check_timeout: 600
              region: us-east-1
              image_uri: 763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.1-tgi2.0-gpu-py310-cu121-ubuntu22.04
              role_arn: arn:aws:iam::123456789012:role/sagemaker_execution_role
              env:
                HF_MODEL_ID: meta-llama/Meta-Llama-3-8B-Instruct
                SM_NUM_GPUS: "4"
          - id: chat
            kind: chat
            with:
              endpoint: "{{ cells.deploy.endpoint_name }}"
              url: "{{ cells.deploy.url }}"
              messages:
                - role: user
                  content: What is deep learning?
              parameters:
                max_tokens: 20
          - id: cleanup
            kind: cleanup
            with:
              endpoint: "{{ cells.deploy.endpoint_name }}"
              url: "{{ cells.deploy.url }}"
              deployment: "{{ cells.deploy.deployment }}"
        """
    }

    struct Fixture {
        let fake: FakeServerProcess
        let runner: PlaybookRunner
        let env: [String: String]
        let dir: String
        let endpoint: String

        init(scenario: String?, extraSettings: String = "") throws {
            fake = try startFakeSageMaker(scenario: scenario, accessKeyID: SageMakerFakeTests.key.0,
                                          secretAccessKey: SageMakerFakeTests.key.1)
            dir = temporaryDirectory("sm-fake")
            endpoint = "fake-\(UInt32.random(in: 0...UInt32.max))"
            let path = "\(dir)/sm-fake.yaml"
            try SageMakerFakeTests.playbook(endpoint: endpoint, extraSettings: extraSettings).write(toFile: path, atomically: true, encoding: .utf8)
            env = ["HOME": dir, "AWS_ENDPOINT_URL": fake.endpoint, "AWS_ACCESS_KEY_ID": SageMakerFakeTests.key.0,
                   "AWS_SECRET_ACCESS_KEY": SageMakerFakeTests.key.1, "AWS_REGION": "us-east-1"]
            let config = try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: env)
                .load(path: path, target: nil, overrides: [])
            runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs", cacheDirectory: "\(dir)/cache",
                                    environment: env)
        }

        func run(_ configure: (inout RunOptions) -> Void = { _ in }) async throws -> RunSummary {
            var o = RunOptions()
            configure(&o)
            return try await runner.run(o)
        }

        func log() async throws -> [JSONValue] {
            if case .array(let requests)? = try await fakeJSON(fake, "/_fake/log")["requests"] { return requests }
            return []
        }

        func ops() async throws -> [String] { try await log().compactMap { $0["op"]?.stringValue } }

        func state() async throws -> JSONValue { try await fakeJSON(fake, "/_fake/state") }

        func printed(_ cell: String) -> String { runner.store.readLog(cell) ?? "" }
    }

    @Test("an endpoint that stays Creating and then fails shows progress and its FailureReason, and leaves nothing behind")
    func creatingThenFailed() async throws {
        let f = try Fixture(scenario: #"{"creating_polls": 3, "final_status": "Failed", "failure_reason": "CUDA out of memory. Tried to allocate 2.00 GiB"}"#)
        defer { f.fake.stop() }
        let s = try await f.run { $0.until = "deploy" }
        #expect(s.exitCode == 1)
        let deploy = try #require(s.cells.first { $0.id == "deploy" })
        #expect(deploy.status == .failed)
        #expect(deploy.error?.contains("CUDA out of memory") == true, "\(deploy.error ?? "")")
        #expect(f.printed("deploy").contains("FailureReason: CUDA out of memory"))
        #expect(try await f.ops().filter { $0 == "DescribeEndpoint" }.count >= 4)
        #expect(try await f.ops().suffix(3) == ["DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"])
        let state = try await f.state()
        #expect(String(describing: state).contains(f.endpoint) == false, "nothing of the failed endpoint is left: \(state)")
    }

    @Test("throttling and 503s are retried with backoff and then succeed; a throttled create is not made twice")
    func throttlingRetried() async throws {
        let f = try Fixture(scenario: #"{"faults": {"CreateModel": {"throttle": 1}, "DescribeEndpoint": [null, "throttle", "unavailable"], "CreateEndpoint": ["unavailable"]}}"#)
        defer { f.fake.stop() }
        let s = try await f.run { $0.until = "deploy" }
        #expect(s.exitCode == 0, "\(s.cells.map { $0.error ?? "" })")
        let printed = f.printed("deploy")
        #expect(printed.contains("CreateModel throttled"), "\(printed)")
        #expect(printed.contains("DescribeEndpoint"))
        let ops = try await f.ops()
        #expect(ops.filter { $0 == "CreateModel" }.count == 2)
        #expect(ops.filter { $0 == "CreateEndpoint" }.count == 2)
        #expect(try await f.run { $0.only = "cleanup" }.exitCode == 0)
    }

    @Test("a ModelStreamError mid-answer fails the chat cell with the error's code and message, after the tokens that came")
    func midStreamError() async throws {
        let f = try Fixture(scenario: #"{"runtime": {"error_after_tokens": 3, "payload_split": "awkward"}}"#)
        defer { f.fake.stop() }
        let s = try await f.run { $0.until = "chat" }
        #expect(s.exitCode == 1)
        let chat = try #require(s.cells.first { $0.id == "chat" })
        #expect(chat.status == .failed)
        #expect(chat.error?.contains("ModelStreamError") == true, "\(chat.error ?? "")")
        #expect(chat.error?.contains("ModelInvocationTimeExceeded") == true)
        #expect(try await f.run { $0.only = "cleanup" }.exitCode == 0)
    }

    @Test("the streamed answer, split at awkward bytes, is the text InvokeEndpoint gives for the same prompt")
    func streamMatchesInvoke() async throws {
        let streamed = try Fixture(scenario: #"{"runtime": {"payload_split": "awkward", "write_split": "awkward"}}"#)
        defer { streamed.fake.stop() }
        let s1 = try await streamed.run()
        #expect(s1.exitCode == 0, "\(s1.cells.map { $0.error ?? "" })")
        let text1 = try #require(s1.cells.first { $0.id == "chat" }?.outputs?["content"]?.stringValue)

        let invoked = try Fixture(scenario: nil, extraSettings: "      streaming: false")
        defer { invoked.fake.stop() }
        let s2 = try await invoked.run()
        #expect(s2.exitCode == 0, "\(s2.cells.map { $0.error ?? "" })")
        let text2 = try #require(s2.cells.first { $0.id == "chat" }?.outputs?["content"]?.stringValue)
        #expect(text1 == text2)
        #expect(text1.unicodeScalars.contains { $0.value > 127 }, "the fake's text has multi-byte characters to split")
        #expect(try await invoked.ops().contains("InvokeEndpoint"))
        #expect(try await streamed.ops().contains("InvokeEndpointWithResponseStream"))
    }

    @Test("a recorded SageMaker run replays offline: the chat stream is recorded unframed, with no credentials")
    func recordAndReplay() async throws {
        let dir = temporaryDirectory("sm-record")
        let recording = "\(dir)/sm.jsonl"
        let replayTarget = "  replay:\n    settings:\n      runtime: replay\n      recording: \(recording)\n      speed: 10"
        let f = try Fixture(scenario: #"{"runtime": {"payload_split": "awkward", "write_split": "awkward"}}"#, extraSettings: replayTarget)
        defer { f.fake.stop() }
        let live = try await f.run { $0.recording = RecordingOptions(path: recording, cellbookVersion: "test", overrides: []) }
        #expect(live.exitCode == 0, "\(live.cells.map { $0.error ?? "" })")
        let text = try String(contentsOfFile: recording, encoding: .utf8)
        #expect(!text.contains(Self.key.1) && !text.contains("Signature="), "no credentials or signatures in the recording")
        let exchange = try #require(try Recording.load(recording).exchanges.first)
        #expect(exchange.path == "/endpoints/\(f.endpoint)/invocations-response-stream")
        #expect(exchange.responseBody.hasPrefix("data:"), "the SSE stream inside the event-stream frames")

        let config = try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: [:])
            .load(path: "\(f.dir)/sm-fake.yaml", target: "replay", overrides: [])
        let replay = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs", cacheDirectory: "\(dir)/cache",
                                    environment: [:])
        var o = RunOptions()
        o.noCache = true
        let replayed = try await replay.run(o)
        #expect(replayed.exitCode == 0, "\(replayed.cells.map { $0.error ?? "" })")
        #expect(replayed.cells.first { $0.id == "chat" }?.outputs?["content"] == live.cells.first { $0.id == "chat" }?.outputs?["content"])
        let verdicts = RecordingCheck(recording: try Recording.load(recording), playbook: config.playbook).compare(replayed)
        #expect(verdicts.filter { !$0.matches }.map(\.id) == ["chat"], "only the chat's timings differ (no check rules here)")
    }

    @Test("stopped while the endpoint is Creating, the next deploy attaches to it instead of creating a second one")
    func interruptedWaitAttaches() async throws {
        // Creating for 40 polls (2 s at the 50 ms poll interval): the first deploy is stopped
        // after its first poll, the second one waits out the rest.
        let f = try Fixture(scenario: #"{"creating_polls": 40}"#)
        defer { f.fake.stop() }
        let console = RecordingConsole()
        let context = ServingContext(targetName: "sagemaker", settings: ["runtime": "sagemaker", "poll_interval": 0.05],
                                     playbookName: "sm-fake", cellID: "deploy", console: console, workDirectory: f.dir,
                                     stateDirectory: f.dir + "/state", cacheDirectory: f.dir, environment: f.env)
        let target = SageMakerTarget(context: context, client: HTTPClient())
        let request = DeployRequest(endpointName: f.endpoint, modelID: "m", instanceType: "ml.g5.12xlarge", instanceCount: 1,
                                    healthCheckTimeout: 600, imageURI: "img", roleARN: "arn:aws:iam::123456789012:role/r",
                                    region: "us-east-1", environment: ["HF_MODEL_ID": "m"], localServerBinary: nil,
                                    localModelPath: nil, previous: nil)
        let waiting = Task { try await target.deploy(request) }
        for _ in 0..<100 where !console.text.contains("Creating ·") { try await Task.sleep(for: .milliseconds(50)) }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
        #expect(console.text.contains("still Creating"))
        // The ledger says what exists.
        let held = Set(ResourceLedger(path: f.dir + "/state/ledger.jsonl").holdings().map(\.resource.kind))
        #expect(held == ["sagemaker-model", "sagemaker-endpoint-config", "sagemaker-endpoint"] as Set)

        let result = try await target.deploy(request)
        #expect(result.status == "InService")
        #expect(console.text.contains("waiting for it instead of creating a second one"))
        #expect(try await f.ops().filter { $0 == "CreateEndpoint" }.count == 1)
        let cleaned = try await target.cleanup(result)
        #expect(cleaned.deleted.count == 3)
    }

    @Test("validate checks the target's settings and the deploy and benchmark inputs before anything runs")
    func validationCatchesBadSettings() throws {
        let dir = temporaryDirectory("sm-validate")
        let yaml = Self.playbook(endpoint: "bad_name!", extraSettings: "      role_arn: not-an-arn\n      region: Mars\n      polling: 3")
            + """

              - id: benchmark
                kind: benchmark
                with:
                  endpoint: "{{ cells.deploy.endpoint_name }}"
                  url: "{{ cells.deploy.url }}"
                  num_concurrent_requests: 0
            """
        try yaml.write(toFile: "\(dir)/p.yaml", atomically: true, encoding: .utf8)
        let (_, problems) = PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: [:])
            .validate(try #require(PlaybookParser.load(path: "\(dir)/p.yaml").0), target: "sagemaker", overrides: [])
        let text = problems.map(\.description).joined(separator: "\n")
        #expect(text.contains("role_arn 'not-an-arn' is not an IAM role ARN"), "\(text)")
        #expect(text.contains("region 'Mars' is not an AWS region name"))
        #expect(text.contains("no setting 'polling'"))
        #expect(text.contains("endpoint name 'bad_name!'"))
        #expect(text.contains("num_concurrent_requests is 0"))
        #expect(problems.filter { $0.severity == .error }.count == 4)
    }
}

final class RecordingConsole: ServingConsole, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var text: String { lock.lock(); defer { lock.unlock() }; return lines.joined(separator: "\n") }
    func line(_ text: String) { lock.lock(); lines.append(text); lock.unlock() }
    func write(_ text: String) { line(text) }
    func progress(_ text: String, final: Bool) { line(text) }
}
