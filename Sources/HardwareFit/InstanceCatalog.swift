import Foundation

/// The SageMaker instance types the check knows: the built-in `instances.json`, optionally
/// extended or overridden by a user's file of the same schema.
public struct InstanceCatalog: Codable, Sendable, Equatable {
    /// In catalog order: built-in order, then user additions in their file's order.
    public private(set) var instances: [InstanceType]
    /// Every file this catalog was read from, built-in first.
    public private(set) var sources: [String]
    public var priceRegion: String

    public init(instances: [InstanceType], sources: [String] = [], priceRegion: String = "us-east-1") {
        self.instances = instances
        self.sources = sources
        self.priceRegion = priceRegion
    }

    /// The catalog shipped with cellbook.
    public static func builtIn() throws -> InstanceCatalog {
        guard let url = Bundle.module.url(forResource: "instances", withExtension: "json") else {
            throw CatalogError.builtInMissing
        }
        let file = try CatalogFile.load(url, label: "built-in instances.json")
        return InstanceCatalog(instances: file.instances, sources: [url.path], priceRegion: file.priceRegion ?? "us-east-1")
    }

    /// The built-in catalog, with `userFile` layered on top when given.
    public static func load(userFile: URL? = nil) throws -> InstanceCatalog {
        var catalog = try builtIn()
        if let userFile { try catalog.merge(userFileAt: userFile) }
        return catalog
    }

    /// Adds the entries of a user catalog; an entry whose name matches an existing one replaces it.
    public mutating func merge(userFileAt url: URL) throws {
        let file = try CatalogFile.load(url, label: url.path)
        merge(file.instances, source: url.path)
    }

    public mutating func merge(_ entries: [InstanceType], source: String) {
        for entry in entries {
            if let index = instances.firstIndex(where: { $0.name.lowercased() == entry.name.lowercased() }) {
                instances[index] = entry
            } else {
                instances.append(entry)
            }
        }
        sources.append(source)
    }

    /// Looks an instance up case-insensitively; "g5.2xlarge" finds "ml.g5.2xlarge", as the tutorial writes "(ml.)g5.2xlarge".
    public func instance(named name: String) -> InstanceType? {
        let wanted = Self.normalizedName(name)
        return instances.first { $0.name.lowercased() == wanted }
    }

    /// Like `instance(named:)`, but an unknown name is an error that lists close names.
    public func require(_ name: String) throws -> InstanceType {
        if let found = instance(named: name) { return found }
        let wanted = Self.normalizedName(name)
        let family = wanted.split(separator: ".").dropFirst().first.map(String.init) ?? ""
        var close = instances.map(\.name).filter { !family.isEmpty && $0.lowercased().hasPrefix("ml.\(family).") }
        if close.isEmpty { close = instances.map(\.name) }
        throw CatalogError.unknownInstance(name: name, known: close, sources: sources)
    }

    static func normalizedName(_ name: String) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespaces).lowercased()
        return trimmed.hasPrefix("ml.") ? trimmed : "ml." + trimmed
    }
}

/// What went wrong reading a catalog, naming the file and what to change.
public enum CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    case builtInMissing
    case unreadable(file: String, reason: String)
    case malformed(file: String, detail: String)
    /// Every problem in the file at once, so one edit fixes them all.
    case invalidEntries(file: String, problems: [String])
    case unknownInstance(name: String, known: [String], sources: [String])

    public var description: String {
        switch self {
        case .builtInMissing:
            return "The built-in instance catalog (Resources/instances.json) is missing from the HardwareFit bundle: the build is incomplete; rebuild cellbook."
        case let .unreadable(file, reason):
            return "Cannot read instance catalog \(file): \(reason). Check the path and permissions."
        case let .malformed(file, detail):
            return "Instance catalog \(file) is not valid: \(detail). Fix the file; each entry needs name, accelerator_model, accelerator_count, memory_per_accelerator_gb, vcpus, host_memory_gib and price_usd_per_hour (null when unknown)."
        case let .invalidEntries(file, problems):
            return "Instance catalog \(file) has \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        case let .unknownInstance(name, known, sources):
            return "Unknown instance type '\(name)': not in the catalog (\(sources.joined(separator: ", "))). Known: \(known.joined(separator: ", ")). Add it to a user catalog file (same schema as instances.json) or fix the name."
        }
    }
}

/// The on-disk schema of a catalog file.
struct CatalogFile: Decodable {
    var schemaVersion: Int?
    var priceRegion: String?
    var priceSource: String?
    var priceDate: String?
    var instances: [InstanceType]

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case priceRegion = "price_region"
        case priceSource = "price_source"
        case priceDate = "price_date"
        case instances
    }

    static func load(_ url: URL, label: String) throws -> CatalogFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? error.localizedDescription : "no such file"
            throw CatalogError.unreadable(file: label, reason: reason)
        }
        var file: CatalogFile
        do {
            file = try JSONDecoder().decode(CatalogFile.self, from: data)
        } catch let error as DecodingError {
            throw CatalogError.malformed(file: label, detail: describe(error))
        } catch {
            throw CatalogError.malformed(file: label, detail: "\(error)")
        }
        if let version = file.schemaVersion, version != 1 {
            throw CatalogError.malformed(file: label, detail: "schema_version \(version) is not supported (this cellbook reads 1)")
        }
        let problems = file.validate()
        if !problems.isEmpty { throw CatalogError.invalidEntries(file: label, problems: problems) }
        // Entries without their own price provenance inherit the file's, or at least name the file.
        for index in file.instances.indices {
            guard file.instances[index].pricePerHourUSD != nil else { continue }
            if file.instances[index].priceSource == nil {
                file.instances[index].priceSource = file.priceSource ?? "user catalog \(label)"
            }
            if file.instances[index].priceDate == nil {
                file.instances[index].priceDate = file.priceDate
            }
        }
        return file
    }

    func validate() -> [String] {
        var problems: [String] = []
        var seen: Set<String> = []
        for (index, entry) in instances.enumerated() {
            let at = "instances[\(index)] (\(entry.name.isEmpty ? "no name" : entry.name))"
            let key = entry.name.lowercased()
            if entry.name.trimmingCharacters(in: .whitespaces).isEmpty {
                problems.append("\(at): name is empty")
            } else if !key.hasPrefix("ml.") {
                problems.append("\(at): name must start with 'ml.' as SageMaker spells instance types")
            }
            if !seen.insert(key).inserted { problems.append("\(at): the name appears twice in this file") }
            if entry.acceleratorCount < 1 { problems.append("\(at): accelerator_count must be at least 1, got \(entry.acceleratorCount)") }
            if entry.memoryPerAcceleratorGB <= 0 { problems.append("\(at): memory_per_accelerator_gb must be positive, got \(entry.memoryPerAcceleratorGB)") }
            let expectedTotal = Double(entry.acceleratorCount) * entry.memoryPerAcceleratorGB
            if abs(entry.totalAcceleratorMemoryGB - expectedTotal) > 0.5 {
                problems.append("\(at): total_accelerator_memory_gb is \(formatNominal(entry.totalAcceleratorMemoryGB)) but accelerator_count x memory_per_accelerator_gb is \(formatNominal(expectedTotal)); fix one or drop the total")
            }
            if entry.vcpus < 1 { problems.append("\(at): vcpus must be at least 1, got \(entry.vcpus)") }
            if entry.hostMemoryGiB <= 0 { problems.append("\(at): host_memory_gib must be positive, got \(entry.hostMemoryGiB)") }
            if let price = entry.pricePerHourUSD, price <= 0 {
                problems.append("\(at): price_usd_per_hour must be positive or null (unknown), got \(price)")
            }
            if let cc = entry.computeCapability, Double(cc) == nil {
                problems.append("\(at): compute_capability must look like \"8.6\", got \"\(cc)\"")
            }
        }
        return problems
    }
}

/// Turns a DecodingError into "at instances[3].vcpus: expected a number" rather than Foundation's dump.
func describe(_ error: DecodingError) -> String {
    func path(_ keys: [CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return text.isEmpty ? "top level" : text
    }
    switch error {
    case let .keyNotFound(key, context):
        let detail = context.debugDescription.hasPrefix("No value associated") ? "" : " (\(context.debugDescription))"
        return "at \(path(context.codingPath)): missing key '\(key.stringValue)'\(detail)"
    case let .typeMismatch(type, context):
        return "at \(path(context.codingPath)): expected \(jsonTypeName(type))"
    case let .valueNotFound(type, context):
        return "at \(path(context.codingPath)): expected \(jsonTypeName(type)), found null"
    case let .dataCorrupted(context):
        let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return "at \(path(context.codingPath)): \(underlying ?? context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}

private func jsonTypeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Int.Type: return "an integer"
    case is Double.Type: return "a number"
    case is Bool.Type: return "true or false"
    default:
        let name = "\(type)"
        if name.hasPrefix("Array") { return "an array" }
        if name.hasPrefix("Dictionary") { return "an object" }
        return name
    }
}
