import Foundation

/// A playbook: an ordered list of cells with the params, secrets and targets they draw on.
/// Plain values decoded from YAML; nothing here knows how a cell executes.
public struct Playbook: Sendable {
    public var file: String
    public var name: String
    public var title: String
    public var source: String?
    public var description: String?
    public var params: [ParamSpec]
    public var secrets: [SecretSpec]
    public var targets: [TargetSpec]
    public var defaultTarget: String?
    public var defaultTargetLocation: SourceLocation?
    public var cells: [CellSpec]

    public func param(_ name: String) -> ParamSpec? { params.first { $0.name == name } }
    public func secret(_ name: String) -> SecretSpec? { secrets.first { $0.name == name } }
    public func target(_ name: String) -> TargetSpec? { targets.first { $0.name == name } }
    public func cellIndex(_ id: String) -> Int? { cells.firstIndex { $0.id == id } }

    /// The target a run uses when none is named: `default_target`, else the first one listed.
    public var defaultTargetName: String? { defaultTarget ?? targets.first?.name }
}

public enum ValueType: String, Sendable, Codable, CaseIterable {
    case string, int, number, bool, list, object, any

    /// Whether `value` is acceptable where this type is expected (an int is a valid number).
    public func accepts(_ value: Value) -> Bool {
        switch (self, value) {
        case (.any, _): true
        case (.string, .string), (.int, .int), (.bool, .bool), (.list, .array), (.object, .object): true
        case (.number, .int), (.number, .double): true
        case (.int, .double(let d)): d == d.rounded()
        default: false
        }
    }

    /// Converts a `--set key=value` text to this type.
    public func parse(commandLine text: String) -> Value? {
        switch self {
        case .string: return .string(text)
        case .int: return Int(text).map(Value.int)
        case .number: return Int(text).map(Value.int) ?? Double(text).map(Value.double)
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1", "on": return .bool(true)
            case "false", "no", "0", "off": return .bool(false)
            default: return nil
            }
        case .list, .object, .any:
            guard let data = text.data(using: .utf8),
                let v = try? JSONDecoder().decode(Value.self, from: data)
            else { return self == .any ? .string(text) : nil }
            return accepts(v) ? v : nil
        }
    }
}

public struct ParamSpec: Sendable {
    public var name: String
    public var type: ValueType
    public var defaultValue: Value?
    public var description: String?
    public var location: SourceLocation
}

/// A secret is only a name: its value comes from the environment and is never stored.
public struct SecretSpec: Sendable {
    public var name: String
    /// The environment variable that holds it (defaults to the secret's name).
    public var env: String
    public var description: String?
    /// Targets on which the secret is needed; nil means every target. On other targets a
    /// reference to it resolves to null and an unset variable is not an error.
    public var targets: [String]?
    public var location: SourceLocation

    public func applies(to target: String) -> Bool { targets?.contains(target) ?? true }
}

public struct TargetSpec: Sendable {
    public var name: String
    public var description: String?
    public var settings: [String: Value]
    public var location: SourceLocation
    public var settingLocations: [String: SourceLocation]
}

public struct CellSpec: Sendable {
    public var id: String
    public var kind: String
    public var title: String
    public var markdown: String?
    public var with: [String: Value]
    /// Names of outputs the cell publishes beyond its kind's own.
    public var outputs: [String]
    public var location: SourceLocation
    public var kindLocation: SourceLocation
    /// Location of each value under `with`, keyed by dotted path ("env.TOKEN").
    public var withLocations: [String: SourceLocation]
    /// Files and environment variables the cell reads besides its inputs (`depends_on`).
    public var dependsOn = CellDependencies()
    /// How `cellbook check` compares each output with a recording (`check:`).
    public var check = CellCheck()
}

/// What a cell reads that cellbook cannot see in its inputs: files (a shell command's
/// `cat input.txt`) and environment variables. Declared under `depends_on`, they are hashed
/// into the cell's cache key, so a change to them runs the cell again.
public struct CellDependencies: Sendable, Hashable {
    /// Files, folders (every file under them) and glob patterns (`*`, `?`, `[...]`), relative
    /// to the folder cellbook runs in.
    public var files: [String]
    /// Names of environment variables.
    public var env: [String]
    /// Where `depends_on` is written, for diagnostics.
    public var location: SourceLocation?

    public init(files: [String] = [], env: [String] = [], location: SourceLocation? = nil) {
        self.files = files
        self.env = env
        self.location = location
    }

    public var isEmpty: Bool { files.isEmpty && env.isEmpty }
}
