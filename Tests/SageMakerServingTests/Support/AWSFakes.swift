import AWSTestSupport
import CellbookJSON
import Foundation

/// The repository root, found from this file's location.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // Support
    .deletingLastPathComponent()  // SageMakerServingTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

/// moto's key, for the playbook runs (the fake SageMaker is given the same one).
struct MotoKey {
    let endpoint: String
    let accessKeyID: String
    let secretAccessKey: String

    static func shared() throws -> MotoKey {
        let server = try Moto.server()
        return MotoKey(endpoint: server.endpoint, accessKeyID: server.string("access_key_id"),
                       secretAccessKey: server.string("secret_access_key"))
    }
}

/// The fake SageMaker verifying signatures made with the given key, with a scenario.
func startFakeSageMaker(scenario: String? = nil, accessKeyID: String, secretAccessKey: String) throws -> FakeServerProcess {
    var arguments = ["--access-key-id", accessKeyID, "--secret-access-key", secretAccessKey]
    if let scenario {
        let path = NSTemporaryDirectory() + "fake-sagemaker-\(UUID().uuidString).json"
        try scenario.write(toFile: path, atomically: true, encoding: .utf8)
        arguments += ["--scenario", path]
    }
    return try FakeServerProcess(script: "fake_sagemaker.py", arguments: arguments)
}
