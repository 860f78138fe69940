import Testing
@testable import HardwareFit

@Suite struct ModelProfileTests {
    @Test(arguments: [
        "meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B-Instruct", "META-LLAMA/meta-llama-3-8b-instruct",
        "meta-llama/Meta-Llama-3-70B", "meta-llama/Meta-Llama-3-70B-Instruct",
        "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-405B",
        "mistralai/Mistral-7B-Instruct-v0.2", "mistralai/Mixtral-8x7B-Instruct-v0.1", "Meta-Llama-3-70B-Instruct",
    ])
    func knownIDsResolve(id: String) throws {
        let profile = try ModelProfile.resolve(.id(id))
        #expect(profile.origin == .builtIn)
        #expect(profile.id == id)
        let arch = try #require(profile.architecture)
        #expect(arch.headDim * arch.attentionHeads == arch.hiddenSize)
        #expect(arch.attentionHeads % arch.kvHeads == 0)
        // Roughly 12 x layers x hidden^2 for dense models: the parameter count and the shape agree.
        if !id.lowercased().contains("mixtral") {
            let shaped = 12 * Double(arch.layers) * Double(arch.hiddenSize * arch.hiddenSize)
            #expect(profile.parameters / shaped > 0.6 && profile.parameters / shaped < 1.6)
        }
    }

    @Test func sizesMatchTheirNames() throws {
        #expect(try ModelProfile.resolve(.id("meta-llama/Meta-Llama-3-8B")).parametersBillions.rounded() == 8)
        #expect(try ModelProfile.resolve(.id("meta-llama/Meta-Llama-3-70B")).parametersBillions.rounded() == 71)
        #expect(try ModelProfile.resolve(.id("meta-llama/Llama-3.1-405B")).parametersBillions.rounded() == 406)
        #expect(try ModelProfile.resolve(.id("mistralai/Mixtral-8x7B-v0.1")).parametersBillions.rounded() == 47)
    }

    @Test func unknownIDWithoutNumbersSaysWhatToSet() {
        #expect {
            _ = try HardwareCheck.evaluate(model: .id("acme/secret-model-13b"), smNumGPUs: 1, tokenLimits: .tutorial, instanceType: "ml.g5.2xlarge")
        } throws: { error in
            guard let error = error as? ModelProfileError, case let .unknownModel(id, _) = error else { return false }
            let text = error.description
            return id == "acme/secret-model-13b"
                && text.contains("acme/secret-model-13b")
                && text.contains("parameters in billions")
                && text.contains("num_key_value_heads")
        }
    }

    @Test func explicitProfileIsUsedForAnUnknownModel() throws {
        let arch = ModelArchitecture(layers: 40, attentionHeads: 40, kvHeads: 40, hiddenSize: 5120)
        #expect(arch.headDim == 128)
        let profile = try ModelProfile(id: "acme/model-13b", parametersBillions: 13, architecture: arch)
        let report = try HardwareCheck.evaluate(model: .profile(profile), smNumGPUs: 1, tokenLimits: .tutorial, instanceType: "ml.g5.2xlarge")
        #expect(report.model.origin == .explicit)
        #expect(abs(report.estimate.weightsGB - 26) < 1e-9)  // 13e9 x 2 B
        let kv = try #require(report.estimate.kvCacheGB)
        #expect(abs(kv - 2.0 * 40 * 40 * 128 * 2 * 8192 / 1e9) < 1e-9)
    }

    @Test func explicitProfileWithoutArchitectureWarnsThatKVIsMissing() throws {
        let profile = try ModelProfile(id: "acme/model-7b", parametersBillions: 7)
        let report = try HardwareCheck.evaluate(model: .profile(profile), smNumGPUs: 1, tokenLimits: .tutorial, instanceType: "ml.g5.2xlarge")
        #expect(report.estimate.kvCacheGB == nil)
        #expect(report.findings.contains { $0.code == .kvCacheUnknown && $0.severity == .warning })
        #expect(report.estimate.arithmetic.contains { $0.contains("not estimated") })
    }

    @Test func invalidExplicitNumbersAreRejectedTogether() {
        #expect {
            _ = try ModelProfile(id: "x/y", parametersBillions: -1,
                                 architecture: ModelArchitecture(layers: 0, attentionHeads: 32, kvHeads: 5, hiddenSize: 4096))
        } throws: { error in
            guard case let .invalidProfile(_, problems)? = error as? ModelProfileError else { return false }
            return problems.count == 3  // params, layers, heads not a multiple of kv heads
        }
    }

    @Test func rawParameterCountIsMistakenForBillions() {
        #expect(throws: ModelProfileError.self) { _ = try ModelProfile(id: "x/y", parametersBillions: 7e9) }
    }
}
