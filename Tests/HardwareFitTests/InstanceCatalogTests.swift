import Foundation
import Testing
@testable import HardwareFit

@Suite struct InstanceCatalogTests {
    static let required = [
        "ml.g5.xlarge", "ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.8xlarge", "ml.g5.12xlarge", "ml.g5.16xlarge", "ml.g5.24xlarge", "ml.g5.48xlarge",
        "ml.g6.xlarge", "ml.g6.2xlarge", "ml.g6.12xlarge", "ml.g6.48xlarge",
        "ml.g6e.xlarge", "ml.g6e.2xlarge", "ml.g6e.12xlarge", "ml.g6e.48xlarge",
        "ml.p4d.24xlarge", "ml.p4de.24xlarge", "ml.p5.48xlarge",
        "ml.inf2.xlarge", "ml.inf2.8xlarge", "ml.inf2.24xlarge", "ml.inf2.48xlarge",
    ]

    @Test func builtInCatalogHasEveryRequiredInstance() throws {
        let catalog = try InstanceCatalog.builtIn()
        for name in Self.required {
            #expect(catalog.instance(named: name) != nil, "missing \(name)")
        }
        for entry in catalog.instances {
            #expect(abs(entry.totalAcceleratorMemoryGB - Double(entry.acceleratorCount) * entry.memoryPerAcceleratorGB) < 0.01, "\(entry.name)")
            if entry.pricePerHourUSD != nil {
                #expect(entry.priceSource?.isEmpty == false, "\(entry.name) has a price without a source")
                // A reader can only check a public source, so a source is public or says plainly that it is unverified.
                #expect(entry.priceSource?.hasPrefix("unverified estimate: ") == true, "\(entry.name): \(entry.priceSource ?? "")")
                #expect(entry.priceSource?.contains("REFERENCE.md") == false, "\(entry.name) cites a document that is not in the repository")
                #expect(entry.priceDate?.isEmpty == false, "\(entry.name) has a price without a date")
            }
        }
    }

    @Test func builtInCatalogMatchesTheReferenceTable() throws {
        let catalog = try InstanceCatalog.builtIn()
        let expected: [(String, String, Int, Double, Double?)] = [
            ("ml.g5.2xlarge", "A10G", 1, 24, 1.515),
            ("ml.g5.12xlarge", "A10G", 4, 24, 7.09),
            ("ml.g5.48xlarge", "A10G", 8, 24, 20.36),
            ("ml.p4d.24xlarge", "A100", 8, 40, 37.688),
            ("ml.g6e.12xlarge", "L40S", 4, 48, nil),
            ("ml.p5.48xlarge", "H100", 8, 80, nil),
        ]
        for (name, gpu, count, memory, price) in expected {
            let entry = try catalog.require(name)
            #expect(entry.acceleratorModel.contains(gpu), "\(name)")
            #expect(entry.acceleratorCount == count, "\(name)")
            #expect(entry.memoryPerAcceleratorGB == memory, "\(name)")
            #expect(entry.pricePerHourUSD == price, "\(name)")
        }
    }

    @Test func inferentiaIsModelledAsNeuronChips() throws {
        let inf2 = try InstanceCatalog.builtIn().require("ml.inf2.48xlarge")
        #expect(inf2.acceleratorKind == .neuron)
        #expect(inf2.acceleratorCount == 12)
        #expect(inf2.memoryPerAcceleratorGB == 32)
        #expect(inf2.totalAcceleratorMemoryGB == 384)
        let report = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1, tokenLimits: .tutorial, instanceType: "ml.inf2.xlarge")
        #expect(report.findings.contains { $0.code == .neuronImage && $0.message.contains("Neuron") && $0.message.contains("HF_NUM_CORES=2") })
        let quantized = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), quantization: .eetq, smNumGPUs: 1, tokenLimits: .tutorial, instanceType: "ml.inf2.xlarge")
        #expect(quantized.findings.contains { $0.code == .quantizationUnsupported && $0.severity == .error })
    }

    @Test func namesWithoutTheMLPrefixAndInOtherCaseResolve() throws {
        let catalog = try InstanceCatalog.builtIn()
        #expect(catalog.instance(named: "g5.2xlarge")?.name == "ml.g5.2xlarge")
        #expect(catalog.instance(named: "ML.P4D.24XLARGE")?.name == "ml.p4d.24xlarge")
    }

    @Test func unknownInstanceSuggestsTheFamily() throws {
        let catalog = try InstanceCatalog.builtIn()
        #expect {
            _ = try catalog.require("ml.g5.3xlarge")
        } throws: { error in
            guard case let .unknownInstance(name, known, _)? = error as? CatalogError else { return false }
            return name == "ml.g5.3xlarge" && known.contains("ml.g5.2xlarge") && !known.contains("ml.p5.48xlarge")
        }
    }

    @Test func userCatalogAddsAnInstanceAndOverridesAPrice() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try dir.write("my-instances.json", """
            {
              "price_source": "our negotiated rate card",
              "price_date": "2025-01",
              "instances": [
                {"name": "ml.g5.12xlarge", "accelerator_model": "NVIDIA A10G", "compute_capability": "8.6",
                 "accelerator_count": 4, "memory_per_accelerator_gb": 24, "vcpus": 48, "host_memory_gib": 192,
                 "price_usd_per_hour": 5.5},
                {"name": "ml.g7.custom", "accelerator_model": "Imaginary X1", "accelerator_count": 2,
                 "memory_per_accelerator_gb": 96, "vcpus": 16, "host_memory_gib": 128, "price_usd_per_hour": 3.25}
              ]
            }
            """)
        let builtIn = try InstanceCatalog.builtIn()
        let merged = try InstanceCatalog.load(userFile: file)
        #expect(merged.instances.count == builtIn.instances.count + 1)
        #expect(merged.sources.last == file.path)

        let overridden = try merged.require("ml.g5.12xlarge")
        #expect(overridden.pricePerHourUSD == 5.5)
        #expect(overridden.priceSource == "our negotiated rate card")
        #expect(overridden.priceDate == "2025-01")
        #expect(try merged.require("ml.g5.48xlarge").pricePerHourUSD == builtIn.require("ml.g5.48xlarge").pricePerHourUSD)

        let added = try merged.require("ml.g7.custom")
        #expect(added.acceleratorKind == .gpu)
        #expect(added.totalAcceleratorMemoryGB == 192)

        // The added instance takes part in the comparison: 70B bf16 fits its 2 x 96 GB and it is the cheapest.
        let report = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-70B"), smNumGPUs: 8, tokenLimits: .tutorial,
                                                instanceType: "ml.p4d.24xlarge", catalog: merged)
        #expect(report.cheapestFit?.instance.name == "ml.g7.custom")
        #expect(report.cheapestFit?.gpusPerReplica == 2)
        #expect(report.renderText().contains("our negotiated rate card (2025-01)"))
    }

    @Test func malformedUserCatalogNamesTheFileAndTheSpot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try dir.write("broken.json", """
            {"instances": [{"name": "ml.x.large", "accelerator_model": "X", "accelerator_count": "four",
              "memory_per_accelerator_gb": 24, "vcpus": 4, "host_memory_gib": 16, "price_usd_per_hour": null}]}
            """)
        #expect {
            _ = try InstanceCatalog.load(userFile: file)
        } throws: { error in
            guard let error = error as? CatalogError, case .malformed = error else { return false }
            return error.file == file.path && error.description.contains(file.path)
                && error.description.contains("instances[0].accelerator_count")
        }
    }

    @Test func missingPriceKeyIsAnErrorNotAnUnknownPrice() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try dir.write("noprice.json", """
            {"instances": [{"name": "ml.x.large", "accelerator_model": "X", "accelerator_count": 1,
              "memory_per_accelerator_gb": 24, "vcpus": 4, "host_memory_gib": 16}]}
            """)
        #expect {
            _ = try InstanceCatalog.load(userFile: file)
        } throws: { error in
            let text = "\(error)"
            return text.contains(file.path) && text.contains("price_usd_per_hour") && text.contains("null")
        }
    }

    @Test func invalidValuesAreAllListedWithTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try dir.write("invalid.json", """
            {"instances": [
              {"name": "g9.big", "accelerator_model": "X", "accelerator_count": 0, "memory_per_accelerator_gb": 24,
               "vcpus": 4, "host_memory_gib": 16, "price_usd_per_hour": -1},
              {"name": "ml.g9.huge", "accelerator_model": "X", "accelerator_count": 2, "memory_per_accelerator_gb": 24,
               "total_accelerator_memory_gb": 100, "vcpus": 4, "host_memory_gib": 16, "price_usd_per_hour": 2}
            ]}
            """)
        #expect {
            _ = try InstanceCatalog.load(userFile: file)
        } throws: { error in
            guard let error = error as? CatalogError, case let .invalidEntries(name, problems) = error else { return false }
            return name == file.path && problems.count == 4
                && problems.contains { $0.contains("instances[0]") && $0.contains("'ml.'") }
                && problems.contains { $0.contains("accelerator_count must be at least 1") }
                && problems.contains { $0.contains("price_usd_per_hour must be positive") }
                && problems.contains { $0.contains("instances[1]") && $0.contains("total_accelerator_memory_gb is 100") }
        }
    }

    @Test func missingUserCatalogSaysSo() {
        let path = "/nonexistent/dir/instances.json"
        #expect {
            _ = try InstanceCatalog.load(userFile: URL(fileURLWithPath: path))
        } throws: { error in
            guard let error = error as? CatalogError, case let .unreadable(file, reason) = error else { return false }
            return file == path && reason == "no such file"
        }
    }

    @Test func notJSONAtAllIsMalformed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try dir.write("yaml.json", "instances:\n  - name: ml.g5.xlarge\n")
        #expect {
            _ = try InstanceCatalog.load(userFile: file)
        } throws: { error in
            (error as? CatalogError)?.file == file.path
        }
    }
}
