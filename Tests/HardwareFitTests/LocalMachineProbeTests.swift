import Foundation
import Testing
@testable import HardwareFit
import SystemKit

@Suite struct LocalMachineProbeTests {
    @Test func probeReturnsSaneNumbersHere() {
        let machine = LocalMachineProbe.probe()
        #expect(machine.cores >= 1)
        #expect(machine.cores == ProcessInfo.processInfo.activeProcessorCount)
        #expect(machine.memoryTotalGB > 0.5 && machine.memoryTotalGB < 100_000)
        #if os(Linux)
        let available = machine.memoryAvailableGB
        #expect(available != nil)
        if let available { #expect(available > 0 && available <= machine.memoryTotalGB) }
        // /proc/meminfo and the kernel's own figure agree within a few percent.
        let physical = Double(ProcessInfo.processInfo.physicalMemory) / 1e9
        #expect(abs(machine.memoryTotalGB - physical) / physical < 0.05)
        #endif
        if ExecutableSearch.find("nvidia-smi") == nil {
            #expect(machine.gpus.isEmpty)
            #expect(machine.gpuProbe.contains("not found"))
        }
    }

    @Test func meminfoIsReadInKiB() throws {
        let parsed = try #require(LocalMachineProbe.parseMeminfo("MemTotal:       16384000 kB\nMemFree:  100 kB\nMemAvailable:    8192000 kB\n"))
        #expect(abs(parsed.totalGB - 16_384_000 * 1024 / 1e9) < 1e-9)
        #expect(abs(try #require(parsed.availableGB) - 8_192_000 * 1024 / 1e9) < 1e-9)
        #expect(LocalMachineProbe.parseMeminfo("nothing here") == nil)
    }

    @Test func nvidiaSMIOutputIsParsed() {
        let gpus = LocalMachineProbe.parseNvidiaSMI("NVIDIA A10G, 23028\nNVIDIA H100 80GB HBM3, 81559\n\ngarbage\n")
        #expect(gpus.count == 2)
        #expect(gpus.first?.name == "NVIDIA A10G")
        #expect(abs((gpus.first?.memoryGB ?? 0) - 23028 * 1_048_576 / 1e9) < 1e-9)
        #expect(gpus.last?.name == "NVIDIA H100 80GB HBM3")
    }

    @Test func aFakeNvidiaSMIIsRunWithTheRightArguments() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        // Prints two GPUs only when called with the query the probe promises to use.
        let script = try dir.write("nvidia-smi", """
            #!/bin/sh
            if [ "$1" = "--query-gpu=name,memory.total" ] && [ "$2" = "--format=csv,noheader,nounits" ]; then
              printf 'NVIDIA L4, 23034\\nNVIDIA L4, 23034\\n'
            else
              exit 3
            fi
            """)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let machine = LocalMachineProbe.probe(nvidiaSMI: script.path)
        #expect(machine.gpus.map(\.name) == ["NVIDIA L4", "NVIDIA L4"])
        #expect(machine.gpuProbe.contains("2 GPUs"))

        let failing = try dir.write("broken-smi", "#!/bin/sh\nexit 9\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: failing.path)
        let none = LocalMachineProbe.probe(nvidiaSMI: failing.path)
        #expect(none.gpus.isEmpty)
        #expect(none.gpuProbe.contains("status 9"))
    }

    func gguf(in dir: TemporaryDirectory, bytes: UInt64) throws -> URL {
        let url = dir.url.appendingPathComponent("model.gguf")
        try Data("GGUF".utf8).write(to: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: bytes)  // sparse: the size is what matters
        try handle.close()
        return url
    }

    @Test func ggufFitsOrNotAgainstAvailableMemory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try gguf(in: dir, bytes: 4_000_000_000)
        let shape = GGUFShape(layers: 32, contextTokens: 4096, kvHeads: 8, headDim: 128)
        let kv = 2.0 * 32 * 8 * 128 * 2 * 4096 / 1e9
        let needed = (4 + kv) * 1.1 + 1

        let roomy = LocalMachine(cores: 8, memoryTotalGB: 32, memoryAvailableGB: 16, gpus: [], gpuProbe: "none")
        let fit = try roomy.fit(ggufAt: file, shape: shape)
        #expect(fit.verdict == .fits)
        #expect(abs(fit.fileSizeGB - 4) < 1e-9)
        #expect(abs(fit.kvCacheGB - kv) < 1e-9)
        #expect(abs(fit.neededGB - needed) < 1e-9)

        let tight = LocalMachine(cores: 2, memoryTotalGB: 8, memoryAvailableGB: 4, gpus: [LocalGPU(name: "NVIDIA L4", memoryGB: 24.15)], gpuProbe: "fake")
        let miss = try tight.fit(ggufAt: file, shape: shape)
        #expect(miss.verdict == .doesNotFit)
        #expect(miss.findings.contains { $0.severity == .error && $0.message.contains("only 4.00 GB is available") })
        #expect(miss.findings.contains { $0.message.contains("-ngl 32") })
        #expect(miss.renderText().contains("does not fit"))

        // A longer context grows the KV cache linearly.
        let long = try roomy.fit(ggufAt: file, shape: GGUFShape(contextTokens: 8192))
        #expect(abs(long.kvCacheGB - 2 * kv) < 1e-9)
    }

    @Test func thisMachineCanJudgeASmallModel() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let file = try gguf(in: dir, bytes: 100_000_000)
        let fit = try LocalMachineProbe.probe().fit(ggufAt: file, shape: GGUFShape(layers: 4, contextTokens: 512))
        #expect(fit.availableGB > fit.neededGB)
        #expect(fit.verdict == .fits)
    }

    @Test func nonGGUFAndMissingFilesAreErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let machine = LocalMachine(cores: 1, memoryTotalGB: 8, memoryAvailableGB: 4, gpus: [], gpuProbe: "none")
        let text = try dir.write("model.safetensors", "{\"header\": 1}")
        #expect(throws: LocalModelError.notGGUF(path: text.path, magic: "{\"he")) { _ = try machine.fit(ggufAt: text) }
        let missing = dir.url.appendingPathComponent("absent.gguf")
        #expect(throws: LocalModelError.fileMissing(path: missing.path)) { _ = try machine.fit(ggufAt: missing) }
        let file = try gguf(in: dir, bytes: 10)
        #expect(throws: LocalModelError.self) { _ = try machine.fit(ggufAt: file, shape: GGUFShape(layers: 0)) }
    }
}
