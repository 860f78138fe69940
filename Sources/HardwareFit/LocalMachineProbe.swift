import Foundation
import SystemKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One NVIDIA GPU as nvidia-smi reports it.
public struct LocalGPU: Codable, Sendable, Equatable {
    public var name: String
    /// GB (1e9 bytes), converted from nvidia-smi's MiB.
    public var memoryGB: Double

    public init(name: String, memoryGB: Double) {
        self.name = name
        self.memoryGB = memoryGB
    }
}

/// The machine cellbook runs on: enough to decide whether a local model will run.
public struct LocalMachine: Codable, Sendable, Equatable {
    public var cores: Int
    public var memoryTotalGB: Double
    /// `MemAvailable`: what can be allocated without swapping. Nil where /proc/meminfo does not exist.
    public var memoryAvailableGB: Double?
    public var gpus: [LocalGPU]
    /// How the GPU list was obtained, or why it is empty.
    public var gpuProbe: String

    public init(cores: Int, memoryTotalGB: Double, memoryAvailableGB: Double?, gpus: [LocalGPU], gpuProbe: String) {
        self.cores = cores
        self.memoryTotalGB = memoryTotalGB
        self.memoryAvailableGB = memoryAvailableGB
        self.gpus = gpus
        self.gpuProbe = gpuProbe
    }
}

/// Reads this machine: cores from sysconf, memory from /proc/meminfo, GPUs from nvidia-smi when it exists.
public enum LocalMachineProbe {
    public static let nvidiaSMIArguments = ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]

    /// - Parameters:
    ///   - meminfoPath: where to read memory from (a parameter so tests can feed a fixture).
    ///   - nvidiaSMI: path to nvidia-smi; nil searches PATH. A missing binary is normal and gives no GPUs.
    public static func probe(meminfoPath: String = "/proc/meminfo", nvidiaSMI: String? = nil) -> LocalMachine {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var total = Double(ProcessInfo.processInfo.physicalMemory) / 1e9
        var available: Double?
        if let text = try? String(contentsOfFile: meminfoPath, encoding: .utf8), let info = parseMeminfo(text) {
            total = info.totalGB
            available = info.availableGB
        }
        let (gpus, note) = probeGPUs(nvidiaSMI: nvidiaSMI)
        return LocalMachine(cores: cores, memoryTotalGB: total, memoryAvailableGB: available, gpus: gpus, gpuProbe: note)
    }

    /// MemTotal and MemAvailable from /proc/meminfo text, in GB (the file says kB, meaning KiB).
    public static func parseMeminfo(_ text: String) -> (totalGB: Double, availableGB: Double?)? {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard parts.count >= 2, let number = Double(parts[1]) else { continue }
            values[String(parts[0])] = number * 1024 / 1e9
        }
        guard let total = values["MemTotal"] else { return nil }
        return (total, values["MemAvailable"])
    }

    /// Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`: "NVIDIA A10G, 23028" per line, MiB.
    public static func parseNvidiaSMI(_ csv: String) -> [LocalGPU] {
        csv.split(whereSeparator: \.isNewline).compactMap { line in
            // The name may itself hold commas; the memory is always the last field.
            guard let comma = line.lastIndex(of: ",") else { return nil }
            let name = line[..<comma].trimmingCharacters(in: .whitespaces)
            let mib = line[line.index(after: comma)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, let value = Double(mib) else { return nil }
            return LocalGPU(name: name, memoryGB: value * 1_048_576 / 1e9)
        }
    }

    static func probeGPUs(nvidiaSMI: String?) -> ([LocalGPU], String) {
        guard let path = nvidiaSMI ?? ExecutableSearch.find("nvidia-smi") else {
            return ([], "nvidia-smi not found: no NVIDIA GPUs visible (normal on a CPU-only machine)")
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            return ([], "nvidia-smi at \(path) is not executable: no GPUs probed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = nvidiaSMIArguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        do {
            try process.run()
        } catch {
            return ([], "nvidia-smi at \(path) could not start: \(error.localizedDescription)")
        }
        // A wedged driver can make nvidia-smi hang; do not hang with it.
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            return ([], "nvidia-smi at \(path) did not answer within 15 s: no GPUs probed")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        guard process.terminationStatus == 0 else {
            return ([], "nvidia-smi at \(path) exited with status \(process.terminationStatus): no GPUs probed (driver not loaded?)")
        }
        let gpus = parseNvidiaSMI(String(decoding: data, as: UTF8.self))
        return (gpus, "nvidia-smi at \(path): \(gpus.count) GPU\(gpus.count == 1 ? "" : "s")")
    }

}

// MARK: - Will a local GGUF model run here?

/// The parts of a model's shape the KV cache depends on; the defaults are Llama 3 8B / Mistral 7B at llama.cpp's 4096 context.
public struct GGUFShape: Codable, Sendable, Equatable {
    public var layers: Int
    public var contextTokens: Int
    public var kvHeads: Int
    public var headDim: Int
    /// llama.cpp keeps the KV cache in f16 unless told otherwise.
    public var kvBytesPerValue: Double

    public init(layers: Int = 32, contextTokens: Int = 4096, kvHeads: Int = 8, headDim: Int = 128, kvBytesPerValue: Double = 2) {
        self.layers = layers
        self.contextTokens = contextTokens
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.kvBytesPerValue = kvBytesPerValue
    }
}

/// Whether a GGUF model file runs in this machine's memory, with the same verdicts and findings as the SageMaker check.
public struct LocalModelFit: Codable, Sendable, Equatable {
    public var file: String
    public var fileSizeGB: Double
    public var shape: GGUFShape
    public var kvCacheGB: Double
    public var overheadGB: Double
    public var neededGB: Double
    /// MemAvailable, or MemTotal where that is all there is.
    public var availableGB: Double
    public var verdict: Verdict
    public var findings: [Finding]
    public var arithmetic: [String]

    /// A few lines for a cell's output.
    public func renderText() -> String {
        (["Local check: \(file): \(verdict.label)"] + arithmetic.map { "  " + $0 } + findings.map { "  \($0.severity.rawValue.uppercased()): \($0.message)" })
            .joined(separator: "\n")
    }
}

public enum LocalModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case fileMissing(path: String)
    case notGGUF(path: String, magic: String)
    case invalidShape(problems: [String])

    public var description: String {
        switch self {
        case let .fileMissing(path):
            return "Model file \(path) does not exist: download the GGUF file first or fix the path."
        case let .notGGUF(path, magic):
            return "\(path) is not a GGUF file (it starts with '\(magic)', not 'GGUF'): llama.cpp cannot load it. Use a .gguf build of the model."
        case let .invalidShape(problems):
            return "The model shape for the local check is not usable: \(problems.joined(separator: "; "))."
        }
    }
}

extension LocalMachine {
    /// Memory for a GGUF model: the file (llama.cpp maps it whole) + KV cache for the context + overhead,
    /// against MemAvailable. Overhead follows the same rule as on GPUs (`rules.overheadFraction` + `overheadPerGPUGB`).
    public func fit(ggufAt url: URL, shape: GGUFShape = GGUFShape(), rules: MemoryRules = .standard) throws -> LocalModelFit {
        let path = url.path
        var problems: [String] = []
        if shape.layers < 1 { problems.append("layers must be at least 1, got \(shape.layers)") }
        if shape.contextTokens < 1 { problems.append("contextTokens must be at least 1, got \(shape.contextTokens)") }
        if shape.kvHeads < 1 { problems.append("kvHeads must be at least 1, got \(shape.kvHeads)") }
        if shape.headDim < 1 { problems.append("headDim must be at least 1, got \(shape.headDim)") }
        if !problems.isEmpty { throw LocalModelError.invalidShape(problems: problems) }

        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.doubleValue else {
            throw LocalModelError.fileMissing(path: path)
        }
        let magic = (try? FileHandle(forReadingFrom: url)).flatMap { handle -> Data? in
            defer { try? handle.close() }
            return try? handle.read(upToCount: 4)
        } ?? Data()
        guard magic == Data("GGUF".utf8) else {
            let shown = String(decoding: magic, as: UTF8.self).filter { $0.isASCII && !$0.isNewline }
            throw LocalModelError.notGGUF(path: path, magic: shown)
        }

        let fileGB = size / 1e9
        let kvGB = 2 * Double(shape.layers) * Double(shape.kvHeads) * Double(shape.headDim) * shape.kvBytesPerValue * Double(shape.contextTokens) / 1e9
        let base = fileGB + kvGB
        let overhead = rules.overheadFraction * base + rules.overheadPerGPUGB
        let needed = base + overhead
        let available = memoryAvailableGB ?? memoryTotalGB
        let availableLabel = memoryAvailableGB == nil ? "MemTotal (MemAvailable unknown)" : "MemAvailable"

        var lines = [
            "GB = 1e9 bytes",
            "model file: \(formatGB(fileGB)) GB (llama.cpp maps all of it)",
            "KV cache: 2 (K,V) x \(shape.layers) layers x \(shape.kvHeads) KV heads x \(shape.headDim) head dim x \(formatNumber(shape.kvBytesPerValue)) B x \(shape.contextTokens) tokens (context) = \(formatGB(kvGB)) GB",
            "overhead: \(percent(rules.overheadFraction)) x \(formatGB(base)) GB + \(formatGB(rules.overheadPerGPUGB)) GB (runtime, compute buffers) = \(formatGB(overhead)) GB",
        ]
        let fits = needed <= available
        lines.append("needed: \(formatGB(needed)) GB; \(availableLabel): \(formatGB(available)) GB of \(formatGB(memoryTotalGB)) GB -> \(fits ? "fits, \(formatGB(available - needed)) GB spare" : "does not fit, \(formatGB(needed - available)) GB short")")

        var findings: [Finding] = []
        if fits {
            findings.append(Finding(.info, .fits, "\(url.lastPathComponent) fits in RAM: needs \(formatGB(needed)) GB of \(formatGB(available)) GB available (\(cores) cores to run it)."))
        } else if needed <= memoryTotalGB {
            findings.append(Finding(.error, .doesNotFit, "\(url.lastPathComponent) needs \(formatGB(needed)) GB but only \(formatGB(available)) GB is available (\(formatGB(memoryTotalGB)) GB installed): close other programs, lower the context (now \(shape.contextTokens) tokens), or use a smaller quantization of the model."))
        } else {
            findings.append(Finding(.error, .doesNotFit, "\(url.lastPathComponent) needs \(formatGB(needed)) GB, more than the \(formatGB(memoryTotalGB)) GB this machine has: use a smaller quantization (e.g. Q4_K_M) or a smaller model."))
        }
        for (index, gpu) in gpus.enumerated() {
            let usable = rules.usableFraction * gpu.memoryGB
            findings.append(Finding(.info, needed <= usable ? .fits : .doesNotFit,
                needed <= usable
                    ? "GPU \(index) (\(gpu.name), \(formatGB(gpu.memoryGB)) GB) can hold all layers: offload them with -ngl \(shape.layers)."
                    : "GPU \(index) (\(gpu.name), \(formatGB(gpu.memoryGB)) GB, \(formatGB(usable)) usable) cannot hold the whole model; offload part of the layers."))
        }
        return LocalModelFit(file: path, fileSizeGB: fileGB, shape: shape, kvCacheGB: kvGB, overheadGB: overhead, neededGB: needed,
                             availableGB: available, verdict: fits ? .fits : .doesNotFit, findings: findings, arithmetic: lines)
    }
}
