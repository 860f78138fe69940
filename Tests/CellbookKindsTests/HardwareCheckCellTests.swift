import CellbookEngine
import CellbookKinds
import Foundation
import PlaybookModel
import Testing

/// The hardware-check cell inside a real run: no network, no credentials.
struct HardwareCheckCellTests {
    func run(instance: String, gpus: Int, extra: String = "", sets: [String] = []) async throws -> (RunSummary, SessionState) {
        let dir = NSTemporaryDirectory() + "cellbook-hw-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = """
            name: hw
            params:
              model_id: meta-llama/Meta-Llama-3-70B-Instruct
              catalog: ""
            targets:
              sagemaker:
                settings: {runtime: sagemaker}
            cells:
              - id: hardware
                kind: hardware-check
                with:
                  model_id: "{{ params.model_id }}"
                  instance_type: \(instance)
                  catalog_file: "{{ params.catalog }}"
                  env: {SM_NUM_GPUS: \(gpus), MAX_INPUT_LENGTH: 2048, MAX_TOTAL_TOKENS: 4096, MAX_BATCH_TOTAL_TOKENS: 8192}
            \(extra)
            """
        try yaml.write(toFile: "\(dir)/hw.yaml", atomically: true, encoding: .utf8)
        let config = try PlaybookValidation(kinds: cellKindSchemas, environment: [:]).load(path: "\(dir)/hw.yaml", target: nil, overrides: sets)
        let runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs", cacheDirectory: "\(dir)/cache", environment: [:])
        let summary = try await runner.run(RunOptions())
        return (summary, try runner.store.load(playbook: "hw", target: "sagemaker"))
    }

    @Test("the tutorial's configuration (70B on ml.p4d.24xlarge, 8 GPUs) fits, with an estimated price")
    func tutorialFits() async throws {
        let (s, state) = try await run(instance: "ml.p4d.24xlarge", gpus: 8)
        #expect(s.exitCode == 0)
        let out = try #require(state.cells["hardware"]?.outputs)
        #expect(out["verdict"] == "fits")
        #expect(out["fits"] == true)
        #expect(out["gpus"] == 8)
        #expect(out["price_usd_per_hour"]?.doubleValue == 37.688)
        #expect(out["price_is_estimate"] == true)
        #expect(out["cheapest_fit"]?.stringValue?.contains("ml.g5.48xlarge") == true)
    }

    @Test("SM_NUM_GPUS above the instance's GPU count fails the cell and names an instance that works")
    func mismatchedGPUsFail() async throws {
        let (s, state) = try await run(instance: "ml.g5.12xlarge", gpus: 8)
        #expect(s.exitCode == 1)
        let error = try #require(state.cells["hardware"]?.error)
        #expect(error.contains("SM_NUM_GPUS"))
        #expect(error.contains("nearest instance that works"))
    }

    @Test("warn_only reports the verdict without failing")
    func warnOnly() async throws {
        let (s, state) = try await run(instance: "ml.g5.2xlarge", gpus: 1, extra: "      warn_only: true")
        #expect(s.exitCode == 0)
        #expect(state.cells["hardware"]?.outputs["verdict"] == "does_not_fit")
        #expect(state.cells["hardware"]?.outputs["fits"] == false)
    }

    @Test("a user catalog file adds an instance the built-in catalog lacks")
    func userCatalog() async throws {
        let file = NSTemporaryDirectory() + "catalog-\(UUID().uuidString).json"
        let catalog = """
            {"instances": [{"name": "ml.test.8xbig", "accelerator_kind": "gpu", "accelerator_model": "NVIDIA H200",
              "accelerator_count": 8, "memory_per_accelerator_gb": 141, "total_accelerator_memory_gb": 1128, "vcpus": 192, "host_memory_gib": 2048,
              "price_usd_per_hour": 50.0, "price_source": "test", "price_date": "2026-11"}]}
            """
        try catalog.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (s, state) = try await run(instance: "ml.test.8xbig", gpus: 8, sets: ["catalog=\(file)"])
        #expect(s.exitCode == 0, "\(state.cells["hardware"]?.error ?? "")")
        #expect(state.cells["hardware"]?.outputs["price_usd_per_hour"]?.doubleValue == 50.0)
        #expect(state.cells["hardware"]?.outputs["verdict"] == "fits")
    }
}
