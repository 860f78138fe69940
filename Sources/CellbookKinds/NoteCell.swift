import CellbookEngine
import PlaybookModel

/// Narrative only, like a notebook's text cell: the runner prints its markdown; nothing executes.
public struct NoteCell: CellKind {
    public static let schema = KindSchema(name: "note", summary: "Narrative only; prints its markdown", inputs: [], outputs: [], isNarrative: true)

    public init() {}

    public func run(_ context: CellContext) async throws -> [String: Value] { [:] }
}
