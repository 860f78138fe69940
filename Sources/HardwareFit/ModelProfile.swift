/// The shape of a transformer that decides its KV-cache size and how it can be sharded.
/// Field names follow the model's `config.json` so users can copy them across.
public struct ModelArchitecture: Codable, Sendable, Equatable {
    /// `num_hidden_layers`
    public var layers: Int
    /// `num_attention_heads`
    public var attentionHeads: Int
    /// `num_key_value_heads` (grouped-query attention: fewer than `attentionHeads`).
    public var kvHeads: Int
    /// `hidden_size`
    public var hiddenSize: Int
    /// `head_dim`, or `hidden_size / num_attention_heads` when the config has none.
    public var headDim: Int
    /// `vocab_size`; with `hiddenSize` it sizes the embedding and lm_head, which quantization leaves at 16-bit.
    public var vocabSize: Int?
    /// `tie_word_embeddings`: one matrix shared by embedding and lm_head.
    public var tiedEmbeddings: Bool

    public init(layers: Int, attentionHeads: Int, kvHeads: Int, hiddenSize: Int, headDim: Int? = nil, vocabSize: Int? = nil, tiedEmbeddings: Bool = false) {
        self.layers = layers
        self.attentionHeads = attentionHeads
        self.kvHeads = kvHeads
        self.hiddenSize = hiddenSize
        self.headDim = headDim ?? (attentionHeads > 0 ? hiddenSize / attentionHeads : 0)
        self.vocabSize = vocabSize
        self.tiedEmbeddings = tiedEmbeddings
    }

    /// Parameters in the embedding and lm_head matrices (0 when the vocabulary is unknown).
    public var embeddingParameters: Double {
        guard let vocabSize else { return 0 }
        return Double(vocabSize) * Double(hiddenSize) * (tiedEmbeddings ? 1 : 2)
    }

    func problems() -> [String] {
        var problems: [String] = []
        if layers < 1 { problems.append("layers must be at least 1, got \(layers)") }
        if attentionHeads < 1 { problems.append("attentionHeads must be at least 1, got \(attentionHeads)") }
        if kvHeads < 1 { problems.append("kvHeads must be at least 1, got \(kvHeads)") }
        if kvHeads > attentionHeads { problems.append("kvHeads (\(kvHeads)) cannot exceed attentionHeads (\(attentionHeads))") }
        if attentionHeads > 0, kvHeads > 0, attentionHeads % kvHeads != 0 {
            problems.append("attentionHeads (\(attentionHeads)) must be a multiple of kvHeads (\(kvHeads))")
        }
        if hiddenSize < 1 { problems.append("hiddenSize must be at least 1, got \(hiddenSize)") }
        if headDim < 1 { problems.append("headDim must be at least 1, got \(headDim)") }
        if let vocabSize, vocabSize < 1 { problems.append("vocabSize must be at least 1, got \(vocabSize)") }
        return problems
    }
}

/// A model's size and architecture: what the memory estimate needs.
public struct ModelProfile: Codable, Sendable, Equatable {
    /// The Hugging Face id as the user gave it (`HF_MODEL_ID`).
    public var id: String
    /// Short name for tables ("Llama 3 70B").
    public var displayName: String
    /// Total parameter count (not billions). For mixture-of-experts models, all experts: they all sit in memory.
    public var parameters: Double
    /// Nil for an explicit profile without architecture: the KV cache then cannot be estimated.
    public var architecture: ModelArchitecture?
    /// Whether the numbers came from the built-in table or from the user.
    public var origin: Origin

    public enum Origin: String, Codable, Sendable, Equatable {
        case builtIn = "built-in"
        case explicit
    }

    public var parametersBillions: Double { parameters / 1e9 }

    /// A profile from the user's own numbers. Throws when they cannot describe a model.
    public init(id: String, parametersBillions: Double, architecture: ModelArchitecture? = nil, displayName: String? = nil) throws {
        var problems: [String] = []
        if !(parametersBillions > 0) || !parametersBillions.isFinite {
            problems.append("parametersBillions must be a positive number of billions (8 for an 8B model), got \(parametersBillions)")
        } else if parametersBillions > 10_000 {
            problems.append("parametersBillions is \(parametersBillions): that is \(parametersBillions / 1000) trillion; give billions, not a raw count")
        }
        if let architecture { problems += architecture.problems() }
        if !problems.isEmpty { throw ModelProfileError.invalidProfile(id: id, problems: problems) }
        self.id = id
        self.displayName = displayName ?? Self.shortName(of: id)
        self.parameters = parametersBillions * 1e9
        self.architecture = architecture
        self.origin = .explicit
    }

    init(builtIn id: String, displayName: String, parameters: Double, architecture: ModelArchitecture) {
        self.id = id
        self.displayName = displayName
        self.parameters = parameters
        self.architecture = architecture
        self.origin = .builtIn
    }

    /// The built-in profile for a Hugging Face id (case-insensitive; the organisation may be left out).
    public static func known(_ id: String) -> ModelProfile? {
        let wanted = id.trimmingCharacters(in: .whitespaces).lowercased()
        let bare = !wanted.contains("/")
        for entry in KnownModels.all {
            for alias in entry.ids {
                let candidate = alias.lowercased()
                let matches = candidate == wanted || (bare && candidate.split(separator: "/").last.map(String.init) == wanted)
                if matches {
                    var profile = entry.profile
                    profile.id = id
                    if wanted.contains("-instruct") { profile.displayName += " Instruct" }
                    return profile
                }
            }
        }
        return nil
    }

    /// The profile for a model: explicit numbers win; otherwise the built-in table; otherwise an error saying what to set.
    public static func resolve(_ spec: ModelSpec) throws -> ModelProfile {
        switch spec {
        case let .profile(profile):
            return profile
        case let .id(id):
            guard !id.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ModelProfileError.missingModelID
            }
            if let profile = known(id) { return profile }
            throw ModelProfileError.unknownModel(id: id, known: KnownModels.all.flatMap(\.ids))
        }
    }

    /// All ids with a built-in profile.
    public static var knownIDs: [String] { KnownModels.all.flatMap(\.ids) }

    static func shortName(of id: String) -> String {
        String(id.split(separator: "/").last ?? Substring(id))
    }
}

/// Which model to check: by Hugging Face id (built-in profile) or with explicit numbers.
public enum ModelSpec: Sendable, Equatable {
    case id(String)
    case profile(ModelProfile)
}

public enum ModelProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingModelID
    case unknownModel(id: String, known: [String])
    case invalidProfile(id: String, problems: [String])

    public var description: String {
        switch self {
        case .missingModelID:
            return "No model given: set HF_MODEL_ID (e.g. meta-llama/Meta-Llama-3-70B-Instruct) or give an explicit profile."
        case let .unknownModel(id, known):
            return """
                Unknown model '\(id)': cellbook has no built-in profile for it, so it cannot size its memory. \
                Give the numbers explicitly: parameters in billions (e.g. 13), and for the KV-cache estimate the architecture \
                from the model's config.json (num_hidden_layers, num_attention_heads, num_key_value_heads, hidden_size; \
                vocab_size helps for quantized sizes). Built-in ids: \(known.joined(separator: ", ")).
                """
        case let .invalidProfile(id, problems):
            return "The explicit profile for '\(id)' is not usable: \(problems.joined(separator: "; "))."
        }
    }
}

/// Built-in profiles, from each model's config.json and the parameter count on its model card.
enum KnownModels {
    struct Entry {
        var ids: [String]
        var profile: ModelProfile
    }

    static let llama3_8B = ModelArchitecture(layers: 32, attentionHeads: 32, kvHeads: 8, hiddenSize: 4096, vocabSize: 128_256)
    static let llama3_70B = ModelArchitecture(layers: 80, attentionHeads: 64, kvHeads: 8, hiddenSize: 8192, vocabSize: 128_256)
    static let llama31_405B = ModelArchitecture(layers: 126, attentionHeads: 128, kvHeads: 8, hiddenSize: 16_384, vocabSize: 128_256)
    static let mistral7B = ModelArchitecture(layers: 32, attentionHeads: 32, kvHeads: 8, hiddenSize: 4096, vocabSize: 32_000)
    static let mistral7Bv03 = ModelArchitecture(layers: 32, attentionHeads: 32, kvHeads: 8, hiddenSize: 4096, vocabSize: 32_768)

    static let all: [Entry] = [
        Entry(ids: ["meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B-Instruct"],
              profile: .init(builtIn: "meta-llama/Meta-Llama-3-8B", displayName: "Llama 3 8B", parameters: 8.03e9, architecture: llama3_8B)),
        Entry(ids: ["meta-llama/Meta-Llama-3-70B", "meta-llama/Meta-Llama-3-70B-Instruct"],
              profile: .init(builtIn: "meta-llama/Meta-Llama-3-70B", displayName: "Llama 3 70B", parameters: 70.55e9, architecture: llama3_70B)),
        Entry(ids: ["meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B-Instruct"],
              profile: .init(builtIn: "meta-llama/Llama-3.1-8B", displayName: "Llama 3.1 8B", parameters: 8.03e9, architecture: llama3_8B)),
        Entry(ids: ["meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Meta-Llama-3.1-70B", "meta-llama/Meta-Llama-3.1-70B-Instruct"],
              profile: .init(builtIn: "meta-llama/Llama-3.1-70B", displayName: "Llama 3.1 70B", parameters: 70.55e9, architecture: llama3_70B)),
        Entry(ids: ["meta-llama/Llama-3.1-405B", "meta-llama/Llama-3.1-405B-Instruct", "meta-llama/Meta-Llama-3.1-405B", "meta-llama/Meta-Llama-3.1-405B-Instruct"],
              profile: .init(builtIn: "meta-llama/Llama-3.1-405B", displayName: "Llama 3.1 405B", parameters: 405.85e9, architecture: llama31_405B)),
        Entry(ids: ["mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.1", "mistralai/Mistral-7B-Instruct-v0.2"],
              profile: .init(builtIn: "mistralai/Mistral-7B-v0.1", displayName: "Mistral 7B", parameters: 7.24e9, architecture: mistral7B)),
        Entry(ids: ["mistralai/Mistral-7B-v0.3", "mistralai/Mistral-7B-Instruct-v0.3"],
              profile: .init(builtIn: "mistralai/Mistral-7B-v0.3", displayName: "Mistral 7B v0.3", parameters: 7.25e9, architecture: mistral7Bv03)),
        // Mixture of experts: only 2 of 8 experts run per token, but all 46.7B parameters are resident.
        Entry(ids: ["mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"],
              profile: .init(builtIn: "mistralai/Mixtral-8x7B-v0.1", displayName: "Mixtral 8x7B", parameters: 46.7e9, architecture: mistral7B)),
    ]
}
