import AWSTestSupport
import CellbookHTTP
import Foundation
import PlaybookModel
import SageMakerServing
import ServingKit
import Testing

/// `cellbook doctor` for the sagemaker target, against moto (signatures checked).
@Suite("SageMakerReadiness against moto", .serialized, .timeLimit(.minutes(2)))
struct SageMakerReadinessTests {
    func environment(secret: String? = nil) throws -> [String: String] {
        let moto = try MotoKey.shared()
        return ["HOME": temporaryDirectory("home"), "AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.accessKeyID,
                "AWS_SECRET_ACCESS_KEY": secret ?? moto.secretAccessKey, "AWS_REGION": "us-east-1"]
    }

    func checks(_ env: [String: String], settings: [String: Value] = [:]) async -> [String: ReadinessCheck] {
        let request = ReadinessRequest(targetName: "sagemaker", settings: settings, parameters: ["instance_type": "ml.p4d.24xlarge"],
                                       environment: env, cacheDirectory: temporaryDirectory("cache"))
        let list = await SageMakerReadiness(request: request, client: HTTPClient()).checks()
        #expect(list.map(\.check) == ["credentials", "region", "caller identity", "execution role", "endpoint quota"])
        return Dictionary(list.map { ($0.check, $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("credentials (and where), region, identity (one signed STS call), the fallback role: ok; the quota is stated as unknowable offline")
    func ready() async throws {
        let c = await checks(try environment())
        #expect(c["credentials"]?.status == .ok)
        #expect(c["credentials"]?.detail.contains("environment (AWS_ACCESS_KEY_ID)") == true)
        #expect(c["region"]?.detail == "us-east-1 (from AWS_REGION)", "\(c["region"]!)")
        #expect(c["caller identity"]?.status == .ok)
        #expect(c["caller identity"]?.detail.contains("arn:aws:iam::123456789012:user/cellbook-test") == true, "\(c["caller identity"]!)")
        #expect(c["execution role"]?.status == .ok)
        #expect(c["execution role"]?.detail.contains("role/sagemaker_execution_role") == true, "\(c["execution role"]!)")
        #expect(c["endpoint quota"]?.status == .warn)
        #expect(c["endpoint quota"]?.detail.contains("cannot check offline: ask Service Quotas for \"ml.p4d.24xlarge for endpoint usage\"") == true)
        #expect(ReadinessReport(target: "sagemaker", runtime: "sagemaker", checks: Array(c.values)).ready)
    }

    @Test("a fallback role that does not exist is missing, with how to create it")
    func missingRole() async throws {
        let c = await checks(try environment(), settings: ["role_name": .string("no-such-role-\(UUID().uuidString.prefix(6))")])
        #expect(c["execution role"]?.status == .missing, "\(c["execution role"]!)")
        #expect(c["execution role"]?.fix.contains("sagemaker.amazonaws.com") == true)
    }

    @Test("a wrong secret: identity is missing, with the credentials hint")
    func wrongSecret() async throws {
        let c = await checks(try environment(secret: "not-the-secret"))
        #expect(c["credentials"]?.status == .ok)
        #expect(c["caller identity"]?.status == .missing, "\(c["caller identity"]!)")
        #expect(c["caller identity"]?.fix.contains("refused the credentials") == true, "\(c["caller identity"]!)")
        #expect(c["execution role"]?.status == .skipped)
    }

    @Test("no credentials anywhere: missing, naming every place looked")
    func noCredentials() async throws {
        let home = temporaryDirectory("empty-home")
        let c = await checks(["HOME": home, "AWS_REGION": "us-east-1"])
        #expect(c["credentials"]?.status == .missing)
        let detail = c["credentials"]?.detail ?? ""
        for place in ["AWS_ACCESS_KEY_ID", "\(home)/.aws/credentials", "\(home)/.aws/config"] { #expect(detail.contains(place), "\(detail)") }
        #expect(c["caller identity"]?.status == .skipped)
    }

    @Test("cellbook doctor --target sagemaker against moto: exit 0, JSON with every check")
    func command() async throws {
        let binary = repositoryRoot.appendingPathComponent(".build/debug/cellbook").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the binary first: swift build --product cellbook")
        var env = try environment()
        env["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        let (status, output) = try runCommand(["sh", "-c", "cd \"$1\" && exec \"$2\" doctor --target sagemaker --format json", "sh",
                                               temporaryDirectory("cwd"), binary], environment: env)
        #expect(status == 0, "\(output)")
        let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        #expect(report?["ready"] as? Bool == true, "\(output)")
        #expect((report?["checks"] as? [[String: Any]])?.count == 5)
    }
}
