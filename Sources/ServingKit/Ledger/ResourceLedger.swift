import CellbookJSON
import Foundation
import SystemKit

/// One thing a deploy creates and someone must delete: a model server process, a SageMaker
/// model, endpoint configuration or endpoint.
public struct LedgerResource: Sendable, Hashable, Codable {
    /// `local-server`, `sagemaker-model`, `sagemaker-endpoint-config`, `sagemaker-endpoint`.
    public var kind: String
    /// Its name (the server's endpoint name for a local server; the AWS resource name).
    public var name: String
    /// The AWS region, for AWS resources.
    public var region: String?

    public init(kind: String, name: String, region: String? = nil) {
        self.kind = kind
        self.name = name
        self.region = region
    }

    public var description: String {
        let what = kind.replacingOccurrences(of: "-", with: " ")
        return region.map { "\(what) \(name) (\($0))" } ?? "\(what) \(name)"
    }
}

/// Who made a resource: which playbook, target, session and endpoint (the deploy's name).
public struct LedgerOwner: Sendable, Hashable, Codable {
    public var playbook: String
    public var target: String
    /// The workshop session; nil outside sessions.
    public var session: String?
    /// The deployment the resource belongs to (the endpoint name asked for).
    public var deployment: String

    public init(playbook: String, target: String, session: String?, deployment: String) {
        self.playbook = playbook
        self.target = target
        self.session = session
        self.deployment = deployment
    }
}

/// One line of the ledger.
public struct LedgerEntry: Sendable, Codable {
    public enum Event: String, Sendable, Codable {
        /// About to be created: written before the create call, so a run killed during the call
        /// still leaves something to look for.
        case intent
        /// Exists (the create call answered, or it was found existing and adopted).
        case created
        /// Confirmed gone: deleted now, or found already gone.
        case deleted
    }

    public var at: Date
    public var event: Event
    public var resource: LedgerResource
    public var owner: LedgerOwner
    /// What is known of it: pid, port, ARN, instance type and count, price per hour, TTL, tags.
    public var details: [String: String]

    public init(at: Date = Date(), event: Event, resource: LedgerResource, owner: LedgerOwner, details: [String: String] = [:]) {
        self.at = at
        self.event = event
        self.resource = resource
        self.owner = owner
        self.details = details
    }
}

/// What the ledger says of one resource now: its last event and everything known of it.
public struct LedgerHolding: Sendable {
    public var resource: LedgerResource
    public var owner: LedgerOwner
    public var state: LedgerEntry.Event
    /// When it was first recorded (the intent or the creation).
    public var since: Date
    public var details: [String: String]

    public init(resource: LedgerResource, owner: LedgerOwner, state: LedgerEntry.Event, since: Date, details: [String: String]) {
        self.resource = resource
        self.owner = owner
        self.state = state
        self.since = since
        self.details = details
    }
}

/// What every deploy created, kept beside the state of every playbook and session in one outputs
/// folder: an append-only file of JSON lines (one event a line, each written whole with a single
/// write and fsync'd), which a person can read and which survives any crash of the writer. A
/// resource is held until an entry says it is confirmed gone; the next run, `cleanup` and
/// `status` read it, not only the deploy cell's outputs.
public struct ResourceLedger: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The ledger of an outputs folder.
    public init(outputsRoot: String) { self.init(path: "\(outputsRoot)/ledger.jsonl") }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    /// Appends one entry durably (O_APPEND, one write, fsync): concurrent writers never mix lines.
    public func append(_ entry: LedgerEntry) throws {
        var line = try Self.encoder.encode(entry)
        line.append(UInt8(ascii: "\n"))
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError.io("cannot open the resource ledger \(path): \(SystemError.errnoText())") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw SystemError.io("cannot write the resource ledger \(path): \(SystemError.errnoText(written < 0 ? errno : ENOSPC))")
        }
        guard fsync(fd) == 0 else { throw SystemError.io("cannot sync the resource ledger \(path): \(SystemError.errnoText())") }
    }

    public func record(_ event: LedgerEntry.Event, _ resource: LedgerResource, owner: LedgerOwner, details: [String: String] = [:]) throws {
        try append(LedgerEntry(event: event, resource: resource, owner: owner, details: details))
    }

    /// Every entry, oldest first. A torn last line (a writer killed mid-write on a file system
    /// without atomic appends) is skipped, not fatal.
    public func entries() -> [LedgerEntry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(LedgerEntry.self, from: Data($0)) }
    }

    /// Resources not yet confirmed gone, in the order they were first recorded.
    public func holdings() -> [LedgerHolding] {
        var order: [LedgerResource] = []
        var byResource: [LedgerResource: LedgerHolding] = [:]
        for entry in entries() {
            if var held = byResource[entry.resource], held.state != .deleted {
                held.state = entry.event
                held.details.merge(entry.details) { _, new in new }
                held.owner = entry.owner
                byResource[entry.resource] = held
            } else {
                // First seen, or deleted and now made again: a new life.
                if byResource[entry.resource] == nil { order.append(entry.resource) }
                byResource[entry.resource] = LedgerHolding(resource: entry.resource, owner: entry.owner, state: entry.event,
                                                           since: entry.at, details: entry.details)
            }
        }
        return order.compactMap { byResource[$0] }.filter { $0.state != .deleted }
    }

    /// The holdings of one deployment (what a deploy of `deployment` left and may need to stop).
    public func holdings(of owner: LedgerOwner) -> [LedgerHolding] {
        holdings().filter { $0.owner.playbook == owner.playbook && $0.owner.target == owner.target
            && $0.owner.session == owner.session && $0.owner.deployment == owner.deployment }
    }
}
