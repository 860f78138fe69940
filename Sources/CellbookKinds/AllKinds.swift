import CellbookEngine
import LocalServing
import PlaybookModel
import ReplayServing
import SageMakerServing
import ServingKit

/// Every cell kind cellbook knows, in one place: a new kind is one file plus one line here.
public let allCellKinds: [any CellKind.Type] = [
    ShellCell.self,
    NoteCell.self,
    SetupCell.self,
    HardwareCheckCell.self,
    DeployCell.self,
    ChatCell.self,
    BenchmarkCell.self,
    CleanupCell.self,
]

/// Every serving target, chosen by a playbook target's `runtime` setting.
public let allServingTargets: [any ServingTarget.Type] = [
    LocalTarget.self,
    SageMakerTarget.self,
    ReplayTarget.self,
]

/// The kinds' schemas by name, for validation.
public var cellKindSchemas: [String: KindSchema] {
    Dictionary(allCellKinds.map { ($0.schema.name, $0.schema) }, uniquingKeysWith: { a, _ in a })
}

/// What `cellbook status` and `cellbook cleanup` use to check and delete each kind of resource
/// in the ledger.
public let allLedgerHandlers: [any LedgerResourceHandler] = [
    LocalServerHandler(),
    SageMakerResourceHandler(),
]

/// The targets' settings schemas by runtime name, for validation.
public var servingTargetSchemas: [String: TargetSchema] {
    Dictionary(allServingTargets.map { ($0.runtime, $0.schema) }, uniquingKeysWith: { a, _ in a })
}
