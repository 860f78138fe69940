import SystemKit
import Foundation
import PlaybookModel

/// A cell's inputs resolved against params, the target, secrets and session state.
public struct ResolvedInputs: Sendable {
    /// With real secret values: what the cell runs with.
    public var real: [String: Value]
    /// With secrets as `[secret:NAME]`: what is stored, shown and hashed.
    public var redacted: [String: Value]
    /// Upstream values read, keyed by reference.
    public var reads: [String: Value]
    /// Upstream cells whose outputs were needed but are not in state.
    public var missing: [String]

    /// The upstream cells this cell read.
    public var readCells: Set<String> { Self.cells(readIn: reads) }

    /// The cell ids in upstream-read keys such as "cells.setup.bucket".
    static func cells(readIn reads: [String: Value]) -> Set<String> {
        Set(reads.keys.compactMap { $0.split(separator: ".").dropFirst().first.map(String.init) })
    }

    /// The cache key: SHA-256 over the kind, the redacted inputs, the declared outputs, the
    /// target, the upstream values read and the declared dependencies (`depends_on`) as they are now.
    public func cacheKey(for cell: CellSpec, target: TargetSpec, dependencies: DependencySnapshot? = nil) -> String {
        var material: [String: Value] = [
            "format": "cellbook-cache-1",
            "kind": .string(cell.kind),
            "inputs": .object(redacted),
            "target": .string(target.name),
            "target_settings": .object(target.settings),
            "reads": .object(reads),
        ]
        // Declared outputs are part of what a cell is: a name added for a later cell to read
        // must make the cell run again to publish it. (Absent when none are declared, so
        // cells without them keep the keys they had.)
        if !cell.outputs.isEmpty { material["outputs"] = .array(cell.outputs.sorted().map(Value.string)) }
        if let dependencies { material["depends_on"] = dependencies.keyMaterial }
        return SHA256Digest.hex((try? Value.object(material).canonicalJSON()) ?? "")
    }
}

public struct CellResolver: Sendable {
    public let config: RunConfiguration

    public init(config: RunConfiguration) { self.config = config }

    /// Resolves `cell`'s `with`. Upstream outputs come from `state`; when `allowMissing`, a
    /// missing upstream value resolves to a placeholder and is listed in `missing`.
    public func resolve(_ cell: CellSpec, state: SessionState, allowMissing: Bool = false) throws -> ResolvedInputs {
        var reads: [String: Value] = [:]
        var missing: [String] = []
        func lookup(_ ref: Reference, redacted: Bool) throws -> Value {
            let name = ref.path[0]
            switch ref.namespace {
            case .params:
                return try dig(config.params[name] ?? .null, ref.path.dropFirst(), ref, cell)
            case .target:
                return try dig(config.target.settings[name] ?? .null, ref.path.dropFirst(), ref, cell)
            case .secrets:
                guard let value = config.secretValues[name] else { return .null }
                return .string(redacted ? "[secret:\(name)]" : value)
            case .cells:
                guard let record = state.cells[name], record.status == .ok else {
                    if allowMissing {
                        if !missing.contains(name) { missing.append(name) }
                        return .string("<\(ref) once '\(name)' has run>")
                    }
                    let status = state.cells[name].map { "its last run \($0.status == .failed ? "failed" : "did not finish")" } ?? "it has not run yet"
                    throw EngineError.unresolved(cell: cell.id, reference: ref.description,
                                                 reason: "\(status); run cell '\(name)' first (for example without --only/--from)")
                }
                guard let out = record.outputs[ref.path[1]] else {
                    throw EngineError.unresolved(cell: cell.id, reference: ref.description,
                                                 reason: "cell '\(name)' did not publish '\(ref.path[1])'; re-run it with --force")
                }
                let v = try dig(out, ref.path.dropFirst(2), ref, cell)
                reads[ref.description] = v
                return v
            }
        }
        var real: [String: Value] = [:], red: [String: Value] = [:]
        for (k, v) in cell.with {
            real[k] = try v.resolvingTemplates { try lookup($0, redacted: false) }
            red[k] = try v.resolvingTemplates { try lookup($0, redacted: true) }
        }
        return ResolvedInputs(real: real, redacted: red, reads: reads, missing: missing)
    }

    private func dig(_ v: Value, _ path: ArraySlice<String>, _ ref: Reference, _ cell: CellSpec) throws -> Value {
        var cur = v
        for key in path {
            guard let next = cur[key] else {
                throw EngineError.unresolved(cell: cell.id, reference: ref.description, reason: "no key '\(key)' in \(cur.typeName) value")
            }
            cur = next
        }
        return cur
    }
}
