/// What kind of accelerator an instance carries. It decides which serving image applies
/// and whether TGI's CUDA quantization kernels exist at all.
public enum AcceleratorKind: String, Codable, Sendable, Equatable {
    /// NVIDIA GPUs: TGI shards over `SM_NUM_GPUS` of them.
    case gpu
    /// AWS Inferentia2 chips: served by the Neuron build of TGI, sharded over NeuronCores.
    case neuron
}

/// One SageMaker instance type, as one entry of `instances.json` (or of a user catalog).
///
/// Accelerator memory is in GB (1e9 bytes), as vendors sell it; host memory in GiB, as AWS lists it.
public struct InstanceType: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var acceleratorKind: AcceleratorKind
    public var acceleratorModel: String
    /// CUDA compute capability ("8.6"); absent for Neuron. FP8 runs natively from 8.9 (Ada, Hopper).
    public var computeCapability: String?
    /// GPUs, or Inferentia2 chips.
    public var acceleratorCount: Int
    /// NeuronCores per Inferentia2 chip (2); absent for GPUs.
    public var neuronCoresPerAccelerator: Int?
    public var memoryPerAcceleratorGB: Double
    public var totalAcceleratorMemoryGB: Double
    public var vcpus: Int
    public var hostMemoryGiB: Double
    /// ESTIMATE in USD per instance-hour (see `priceSource`, `priceDate`); nil when unknown.
    public var pricePerHourUSD: Double?
    /// Where the price comes from; filled from the catalog file's top level when an entry has none.
    public var priceSource: String?
    public var priceDate: String?
    public var note: String?

    public init(
        name: String,
        acceleratorKind: AcceleratorKind = .gpu,
        acceleratorModel: String,
        computeCapability: String? = nil,
        acceleratorCount: Int,
        neuronCoresPerAccelerator: Int? = nil,
        memoryPerAcceleratorGB: Double,
        totalAcceleratorMemoryGB: Double? = nil,
        vcpus: Int,
        hostMemoryGiB: Double,
        pricePerHourUSD: Double?,
        priceSource: String? = nil,
        priceDate: String? = nil,
        note: String? = nil
    ) {
        self.name = name
        self.acceleratorKind = acceleratorKind
        self.acceleratorModel = acceleratorModel
        self.computeCapability = computeCapability
        self.acceleratorCount = acceleratorCount
        self.neuronCoresPerAccelerator = neuronCoresPerAccelerator
        self.memoryPerAcceleratorGB = memoryPerAcceleratorGB
        self.totalAcceleratorMemoryGB = totalAcceleratorMemoryGB ?? Double(acceleratorCount) * memoryPerAcceleratorGB
        self.vcpus = vcpus
        self.hostMemoryGiB = hostMemoryGiB
        self.pricePerHourUSD = pricePerHourUSD
        self.priceSource = priceSource
        self.priceDate = priceDate
        self.note = note
    }

    /// True when the GPU has FP8 tensor cores (compute capability 8.9 or later).
    public var hasNativeFP8: Bool {
        guard acceleratorKind == .gpu, let cc = computeCapability, let value = Double(cc) else { return false }
        return value >= 8.9
    }

    /// "4x NVIDIA A10G 24 GB" — the way the tutorial describes hardware.
    public var acceleratorSummary: String {
        "\(acceleratorCount)x \(acceleratorModel) \(formatNominal(memoryPerAcceleratorGB)) GB"
    }

    enum CodingKeys: String, CodingKey {
        case name
        case acceleratorKind = "accelerator_kind"
        case acceleratorModel = "accelerator_model"
        case computeCapability = "compute_capability"
        case acceleratorCount = "accelerator_count"
        case neuronCoresPerAccelerator = "neuron_cores_per_accelerator"
        case memoryPerAcceleratorGB = "memory_per_accelerator_gb"
        case totalAcceleratorMemoryGB = "total_accelerator_memory_gb"
        case vcpus
        case hostMemoryGiB = "host_memory_gib"
        case pricePerHourUSD = "price_usd_per_hour"
        case priceSource = "price_source"
        case priceDate = "price_date"
        case note
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        acceleratorKind = try c.decodeIfPresent(AcceleratorKind.self, forKey: .acceleratorKind) ?? .gpu
        acceleratorModel = try c.decode(String.self, forKey: .acceleratorModel)
        computeCapability = try c.decodeIfPresent(String.self, forKey: .computeCapability)
        acceleratorCount = try c.decode(Int.self, forKey: .acceleratorCount)
        neuronCoresPerAccelerator = try c.decodeIfPresent(Int.self, forKey: .neuronCoresPerAccelerator)
        memoryPerAcceleratorGB = try c.decode(Double.self, forKey: .memoryPerAcceleratorGB)
        // The total is redundant; when given it is checked against count x per-accelerator.
        totalAcceleratorMemoryGB = try c.decodeIfPresent(Double.self, forKey: .totalAcceleratorMemoryGB)
            ?? Double(acceleratorCount) * memoryPerAcceleratorGB
        vcpus = try c.decode(Int.self, forKey: .vcpus)
        hostMemoryGiB = try c.decode(Double.self, forKey: .hostMemoryGiB)
        // The key is required (explicit null = unknown) so a forgotten price is not silently "unknown".
        guard c.contains(.pricePerHourUSD) else {
            throw DecodingError.keyNotFound(CodingKeys.pricePerHourUSD, .init(
                codingPath: c.codingPath,
                debugDescription: "price_usd_per_hour is required; write null when the price is unknown"))
        }
        pricePerHourUSD = try c.decodeIfPresent(Double.self, forKey: .pricePerHourUSD)
        priceSource = try c.decodeIfPresent(String.self, forKey: .priceSource)
        priceDate = try c.decodeIfPresent(String.self, forKey: .priceDate)
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }

    /// Writes the catalog schema back, unknown price as an explicit null so the output loads again as a catalog.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(acceleratorKind, forKey: .acceleratorKind)
        try c.encode(acceleratorModel, forKey: .acceleratorModel)
        try c.encodeIfPresent(computeCapability, forKey: .computeCapability)
        try c.encode(acceleratorCount, forKey: .acceleratorCount)
        try c.encodeIfPresent(neuronCoresPerAccelerator, forKey: .neuronCoresPerAccelerator)
        try c.encode(memoryPerAcceleratorGB, forKey: .memoryPerAcceleratorGB)
        try c.encode(totalAcceleratorMemoryGB, forKey: .totalAcceleratorMemoryGB)
        try c.encode(vcpus, forKey: .vcpus)
        try c.encode(hostMemoryGiB, forKey: .hostMemoryGiB)
        try c.encode(pricePerHourUSD, forKey: .pricePerHourUSD)
        try c.encodeIfPresent(priceSource, forKey: .priceSource)
        try c.encodeIfPresent(priceDate, forKey: .priceDate)
        try c.encodeIfPresent(note, forKey: .note)
    }
}
