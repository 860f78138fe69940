import AWSTestSupport
import AWSCore
@testable import AWSServices
import Foundation
import Testing

@Suite struct SageMakerClientTests {
    static let image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.1-tgi2.0-gpu-py310-cu121-ubuntu22.04"

    @Test func deployDescribeListTagAndDeleteLikeTheTutorial() async throws {
        let sagemaker = SageMakerClient(try Moto.session())
        let account = try Moto.account
        let name = uniqueName("llama3")
        let role = "arn:aws:iam::\(account):role/sagemaker_execution_role"
        let tags = [("cellbook", "test"), ("owner", "h5")]

        let modelARN = try await sagemaker.createModel(
            name: name + "-model", executionRoleARN: role, image: Self.image,
            environment: ["HF_MODEL_ID": "meta-llama/Meta-Llama-3-8B-Instruct", "SM_NUM_GPUS": "4"], tags: tags)
        #expect(modelARN == "arn:aws:sagemaker:us-east-1:\(account):model/\(name)-model")
        let model = try #require(try await sagemaker.describeModel(name: name + "-model"))
        #expect(model.arn == modelARN)
        #expect(model.image == Self.image)
        #expect(model.executionRoleARN == role)

        let configARN = try await sagemaker.createEndpointConfig(
            name: name + "-config", modelName: name + "-model", instanceType: "ml.g4dn.12xlarge", instanceCount: 1,
            healthCheckTimeoutSeconds: 900, tags: tags)
        #expect(configARN.hasSuffix(":endpoint-config/\(name)-config"))
        let config = try #require(try await sagemaker.describeEndpointConfig(name: name + "-config"))
        #expect(config.arn == configARN)
        #expect(config.variants == [.init(modelName: name + "-model", instanceType: "ml.g4dn.12xlarge", instanceCount: 1)])

        let endpointARN = try await sagemaker.createEndpoint(name: name, configName: name + "-config", tags: tags)
        #expect(endpointARN == "arn:aws:sagemaker:us-east-1:\(account):endpoint/\(name)")

        let endpoint = try #require(try await sagemaker.describeEndpoint(name: name))
        #expect(endpoint.name == name)
        #expect(endpoint.arn == endpointARN)
        #expect(endpoint.configName == name + "-config")
        #expect(endpoint.status == .inService)
        #expect(endpoint.failureReason == nil)
        let created = try #require(endpoint.creationTime)
        #expect(abs(created.timeIntervalSinceNow) < 3600 * 24 * 366 * 2)  // a real date, not 0 or milliseconds
        #expect(endpoint.lastModifiedTime != nil)

        let listed = try await sagemaker.listEndpoints(nameContains: name)
        #expect(listed.map(\.name) == [name])
        #expect(listed.first?.status == .inService)
        #expect(listed.first?.arn == endpointARN)
        #expect(try await sagemaker.listEndpoints(nameContains: name + "-nothing").isEmpty)

        let listedTags = try await sagemaker.listTags(resourceARN: endpointARN)
        #expect(listedTags.map { "\($0.0)=\($0.1)" } == ["cellbook=test", "owner=h5"])

        #expect(try await sagemaker.deleteEndpoint(name: name) == true)
        #expect(try await sagemaker.deleteEndpointConfig(name: name + "-config") == true)
        #expect(try await sagemaker.deleteModel(name: name + "-model") == true)

        #expect(try await sagemaker.deleteEndpoint(name: name) == false)
        #expect(try await sagemaker.deleteEndpointConfig(name: name + "-config") == false)
        #expect(try await sagemaker.deleteModel(name: name + "-model") == false)

        #expect(try await sagemaker.describeEndpoint(name: name) == nil)
        #expect(try await sagemaker.describeEndpointConfig(name: name + "-config") == nil)
        #expect(try await sagemaker.describeModel(name: name + "-model") == nil)
    }

    @Test func listsFollowNextToken() async throws {
        var sagemaker = SageMakerClient(try Moto.session())
        sagemaker.pageSize = 2
        let prefix = uniqueName("paged")
        let config = prefix + "-config"
        _ = try await sagemaker.createModel(
            name: prefix + "-model", executionRoleARN: "arn:aws:iam::\(try Moto.account):role/sagemaker_execution_role",
            image: Self.image, environment: [:])
        _ = try await sagemaker.createEndpointConfig(name: config, modelName: prefix + "-model", instanceType: "ml.g4dn.12xlarge")
        let tags = (0..<5).map { ("k\($0)", "v\($0)") }
        var arn = ""
        for index in 0..<5 { arn = try await sagemaker.createEndpoint(name: "\(prefix)-\(index)", configName: config, tags: tags) }

        let names = try await sagemaker.listEndpoints(nameContains: prefix).map(\.name).sorted()
        #expect(names == (0..<5).map { "\(prefix)-\($0)" })
        #expect(try await sagemaker.listTags(resourceARN: arn).map(\.0) == ["k0", "k1", "k2", "k3", "k4"])
        for index in 0..<5 { _ = try await sagemaker.deleteEndpoint(name: "\(prefix)-\(index)") }
    }

    @Test func wrongSecretOnAJSONServiceIsStillASignatureError() async throws {
        // moto answers SageMaker's bad signatures in XML (403 text/html <ErrorResponse>).
        let secret = "wrong-secret-for-sagemaker-0123456789"
        let token = "hf_SECRETTOKENthatmustnotleak"
        let session = try Moto.session(credentials: Moto.credentials(secret: secret))
        let error = try await #require(throws: AWSServiceError.self) {
            try await SageMakerClient(session).createModel(
                name: uniqueName("leak"), executionRoleARN: "arn:aws:iam::123456789012:role/x", image: Self.image,
                environment: ["HUGGING_FACE_HUB_TOKEN": token])
        }
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.description.hasPrefix("SageMaker CreateModel: SignatureDoesNotMatch: "))
        #expect(!error.description.contains(secret))
        #expect(!error.description.contains(token))
    }

    @Test func describeOfAMissingEndpointIsNil() async throws {
        #expect(try await SageMakerClient(Moto.session()).describeEndpoint(name: uniqueName("never")) == nil)
    }
}
