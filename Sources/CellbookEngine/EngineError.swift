import PlaybookModel

/// Errors the engine reports; each message says what happened and what to do.
public enum EngineError: Error, Sendable, CustomStringConvertible {
    case io(String)
    case usage(String)
    /// The machine refused: a folder cellbook cannot create or write, a device as outputs.
    case environment(String)
    case unresolved(cell: String, reference: String, reason: String)
    case corruptState(path: String, reason: String)

    public var description: String {
        switch self {
        case .io(let m): return m
        case .usage(let m): return m
        case .environment(let m): return m
        case .unresolved(let cell, let reference, let reason):
            return "cell '\(cell)' cannot resolve {{ \(reference) }}: \(reason)"
        case .corruptState(let path, let reason):
            return "the state file \(path) cannot be read (\(reason))\n"
                + "    hint: run `cellbook reset` for this playbook to start over; cached outputs will be recomputed"
        }
    }

    /// 2 for usage/input problems (nothing ran); 1 otherwise.
    public var exitCode: Int32 {
        switch self {
        case .usage, .environment, .unresolved, .corruptState: 2
        case .io: 1
        }
    }
}
