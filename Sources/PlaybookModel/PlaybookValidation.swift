/// What a run needs once a playbook is known good: the chosen target, the params with
/// overrides applied, and the values of the secrets this target uses.
public struct RunConfiguration: Sendable {
    public var playbook: Playbook
    public var target: TargetSpec
    public var params: [String: Value]
    /// Secret values by secret name. Never written anywhere.
    public var secretValues: [String: String]

    /// Secrets are masked by value; shorter ones are refused before a run (they could not be masked).
    public static let minimumSecretLength = 4
}

/// Checks a parsed playbook against the registered kinds and the run's choices, and reports
/// EVERY problem at once, each with file, line and column.
public struct PlaybookValidation {
    public var kinds: [String: KindSchema]
    /// Serving targets by runtime name; a playbook target's `runtime` setting picks one.
    public var targets: [String: TargetSchema]
    public var environment: [String: String]
    /// Whether an unset secret is a problem: yes before running, no for commands that only read state.
    public var requireSecrets: Bool

    public init(kinds: [String: KindSchema], targets: [String: TargetSchema] = [:], environment: [String: String],
                requireSecrets: Bool = true) {
        self.kinds = kinds
        self.targets = targets
        self.environment = environment
        self.requireSecrets = requireSecrets
    }

    /// Parses and validates; throws `PlaybookError` with all problems.
    public func load(path: String, target: String?, overrides: [String]) throws(PlaybookError) -> RunConfiguration {
        let parsed = PlaybookParser.loadCounting(path: path)
        guard let pb = parsed.playbook else { throw PlaybookError(parsed.diagnostics, omitted: parsed.omitted) }
        let (config, problems) = validate(pb, target: target, overrides: overrides)
        let all = parsed.diagnostics + problems
        if let config, parsed.omitted == 0, !all.contains(where: { $0.severity == .error }) { return config }
        throw PlaybookError(all, omitted: parsed.omitted)
    }

    public func validate(_ pb: Playbook, target requested: String?, overrides: [String]) -> (RunConfiguration?, [Diagnostic]) {
        var problems: [Diagnostic] = []
        let top = SourceLocation(file: pb.file, line: 1, column: 1)

        // Targets.
        if let d = pb.defaultTarget, pb.target(d) == nil {
            problems.append(Diagnostic(pb.defaultTargetLocation ?? top, "default_target '\(d)' is not one of the targets",
                                       hint: suggestion(d, pb.targets.map(\.name))))
        }
        var target: TargetSpec
        if let requested {
            if let t = pb.target(requested) { target = t } else {
                problems.append(Diagnostic(.commandLine("--target"), "unknown target '\(requested)'",
                                           hint: pb.targets.isEmpty ? "this playbook declares no targets" : suggestion(requested, pb.targets.map(\.name))))
                target = TargetSpec(name: requested, description: nil, settings: [:], location: top, settingLocations: [:])
            }
        } else if let name = pb.defaultTargetName, let t = pb.target(name) {
            target = t
        } else {
            target = TargetSpec(name: "default", description: nil, settings: [:], location: top, settingLocations: [:])
        }
        for s in pb.secrets {
            for t in s.targets ?? [] where pb.target(t) == nil {
                problems.append(Diagnostic(s.location, "secret '\(s.name)' names unknown target '\(t)'",
                                           hint: pb.targets.isEmpty ? "this playbook declares no targets" : suggestion(t, pb.targets.map(\.name))))
            }
        }

        // Params and --set overrides.
        var params: [String: Value] = [:]
        for p in pb.params { params[p.name] = p.defaultValue ?? .null }
        for o in overrides {
            let where_ = SourceLocation.commandLine("--set \(o)")
            guard let eq = o.firstIndex(of: "=") else {
                problems.append(Diagnostic(where_, "--set takes key=value", hint: "for example --set max_tokens=256"))
                continue
            }
            let key = String(o[..<eq]), text = String(o[o.index(after: eq)...])
            guard let spec = pb.param(key) else {
                problems.append(Diagnostic(where_, "unknown param '\(key)'",
                                           hint: pb.params.isEmpty ? "this playbook declares no params" : suggestion(key, pb.params.map(\.name))))
                continue
            }
            guard let v = spec.type.parse(commandLine: text) else {
                problems.append(Diagnostic(where_, "param '\(key)' is \(spec.type.rawValue); '\(text)' is not",
                                           hint: "give \(["int", "object", "any"].contains(spec.type.rawValue) ? "an" : "a") \(spec.type.rawValue) value"))
                continue
            }
            params[key] = v
        }

        // Secrets that apply to this target and are set.
        var secretValues: [String: String] = [:]
        for s in pb.secrets where s.applies(to: target.name) {
            guard let v = environment[s.env], !v.isEmpty else { continue }
            secretValues[s.name] = v
            // Secrets are masked in output by their value; a value this short cannot be masked
            // without garbling everything else, so it would show. Refuse it rather than leak it.
            if requireSecrets && v.count < RunConfiguration.minimumSecretLength {
                problems.append(Diagnostic(s.location, "secret '\(s.name)' (environment variable \(s.env)) is \(v.count) "
                    + "character\(v.count == 1 ? "" : "s") long, too short to be masked in logs and outputs",
                    hint: "set \(s.env) to the real credential (at least \(RunConfiguration.minimumSecretLength) characters)"))
            }
        }

        // Cells.
        var seen: [String: SourceLocation] = [:]
        for (index, cell) in pb.cells.enumerated() {
            if let first = seen[cell.id], !cell.id.isEmpty {
                problems.append(Diagnostic(cell.location, "duplicate cell id '\(cell.id)' (first used at line \(first.line))",
                                           hint: "every cell needs its own id"))
            } else {
                seen[cell.id] = cell.location
            }
            guard let schema = kinds[cell.kind] else {
                if !cell.kind.isEmpty {
                    problems.append(Diagnostic(cell.kindLocation, "unknown kind '\(cell.kind)' in cell '\(cell.id)'",
                                               hint: suggestion(cell.kind, kinds.keys.sorted())))
                }
                continue
            }
            problems += checkInputs(cell, schema, pb)
            if !cell.outputs.isEmpty && !schema.acceptsDeclaredOutputs {
                problems.append(Diagnostic(cell.location, "kind '\(cell.kind)' publishes fixed outputs; cell '\(cell.id)' cannot declare its own",
                                           hint: "its outputs are: \(schema.outputs.joined(separator: ", "))"))
            }
            problems += checkReferences(cell, index: index, pb, target: target, params: params, secretValues: secretValues)
            // Check rules name outputs the cell publishes (or "*" for the rest).
            let published = schema.outputs + cell.outputs
            for name in cell.check.rules.keys.sorted() where name != CheckRule.otherOutputs && !published.contains(name) {
                problems.append(Diagnostic(cell.check.locations[name] ?? cell.location,
                                           "check names output '\(name)', which cell '\(cell.id)' does not publish",
                                           hint: published.isEmpty ? "the cell publishes no outputs" : suggestion(name, published)))
            }
            problems += checkInputValues(cell, schema, target: target, params: params)
            // Secrets never enter a cache key, not even as a digest that could be guessed at.
            for name in cell.dependsOn.env {
                if let secret = pb.secrets.first(where: { $0.env == name }) {
                    problems.append(Diagnostic(cell.dependsOn.location ?? cell.location,
                        "cell '\(cell.id)' depends on environment variable \(name), which holds secret '\(secret.name)'",
                        hint: "secrets are never hashed into the cache; use {{ secrets.\(secret.name) }} under `with`, and --force when it changes"))
                }
            }
        }
        if !targets.isEmpty {
            // A cell input named like a setting (setup's `region`) supplies it for the run.
            var supplied: [String: Value] = [:]
            for cell in pb.cells {
                for (key, value) in staticInputs(cell, target: target, params: params) where supplied[key] == nil {
                    if value.isNull || value.stringValue == "" { continue }
                    supplied[key] = value
                }
            }
            for t in pb.targets { problems += checkSettings(t, chosen: t.name == target.name, supplied: supplied) }
        }
        let config = RunConfiguration(playbook: pb, target: target, params: params, secretValues: secretValues)
        return (config, problems)
    }

    /// A playbook target's settings against its runtime's schema: known runtime, types, the
    /// runtime's own checks, and (for the chosen target) checks that need the environment.
    private func checkSettings(_ t: TargetSpec, chosen: Bool, supplied: [String: Value]) -> [Diagnostic] {
        guard let runtimeValue = t.settings["runtime"] else { return [] }
        let at = { (key: String) in t.settingLocations[key] ?? t.location }
        guard let runtime = runtimeValue.stringValue, let schema = targets[runtime] else {
            // Only the chosen target must be runnable; another one may be for a newer cellbook.
            return [Diagnostic(at("runtime"), "target '\(t.name)' sets runtime '\(runtimeValue.interpolationText)', which cellbook does not know",
                               hint: suggestion(runtimeValue.interpolationText, targets.keys.sorted()), severity: chosen ? .error : .warning)]
        }
        var problems: [Diagnostic] = []
        var concrete: [String: Value] = [:]
        for (key, value) in t.settings.sorted(by: { $0.key < $1.key }) where key != "runtime" {
            guard let setting = schema.setting(key) else {
                problems.append(Diagnostic(at(key), "target '\(t.name)' (runtime \(runtime)) has no setting '\(key)'",
                                           hint: suggestion(key, schema.settings.map(\.name)), severity: .warning))
                continue
            }
            if case .string(let s) = value, s.contains("{{") { continue }
            // An empty string or null means "not set" for every setting.
            if value.isNull || value.stringValue == "" { continue }
            guard setting.type.accepts(value) || (value.stringValue.flatMap { setting.type.parse(commandLine: $0) } != nil) else {
                problems.append(Diagnostic(at(key), "setting '\(key)' of target '\(t.name)' should be \(setting.type.rawValue), not \(value.interpolationText)",
                                           hint: setting.description))
                continue
            }
            concrete[key] = value
        }
        var found = schema.check?(concrete) ?? []
        if chosen {
            var effective = concrete
            for setting in schema.settings where effective[setting.name] == nil {
                if let value = supplied[setting.name] { effective[setting.name] = value }
            }
            found += schema.preflight?(effective, environment) ?? []
        }
        for p in found {
            problems.append(Diagnostic(p.key.map(at) ?? t.location, "target '\(t.name)': \(p.message)", hint: p.hint))
        }
        return problems
    }

    /// The kind's own checks over the inputs known before running (no cell or secret references).
    private func checkInputValues(_ cell: CellSpec, _ schema: KindSchema, target: TargetSpec, params: [String: Value]) -> [Diagnostic] {
        guard let check = schema.check else { return [] }
        return check(staticInputs(cell, target: target, params: params)).map { p in
            Diagnostic(p.key.map { location(cell, $0) } ?? cell.location, "cell '\(cell.id)': \(p.message)", hint: p.hint)
        }
    }

    /// A cell's inputs that resolve before anything runs: literals, params and target settings.
    private func staticInputs(_ cell: CellSpec, target: TargetSpec, params: [String: Value]) -> [String: Value] {
        var known: [String: Value] = [:]
        for (key, value) in cell.with {
            let refs = value.templateReferences()
            if refs.contains(where: { $0.namespace == .cells || $0.namespace == .secrets }) { continue }
            let resolved: Value? = try? value.resolvingTemplates { (ref: Reference) throws(TemplateLookupMiss) -> Value in
                let root: Value?
                switch ref.namespace {
                case .params: root = params[ref.path[0]]
                case .target: root = target.settings[ref.path[0]]
                default: root = nil
                }
                guard var v = root else { throw TemplateLookupMiss() }
                for k in ref.path.dropFirst() {
                    guard let next = v[k] else { throw TemplateLookupMiss() }
                    v = next
                }
                return v
            }
            if let resolved { known[key] = resolved }
        }
        return known
    }

    private func location(_ cell: CellSpec, _ path: String) -> SourceLocation {
        cell.withLocations[path] ?? cell.location
    }

    private func checkInputs(_ cell: CellSpec, _ schema: KindSchema, _ pb: Playbook) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        for (key, value) in cell.with.sorted(by: { $0.key < $1.key }) {
            guard let input = schema.input(key) else {
                problems.append(Diagnostic(location(cell, key), "unknown input '\(key)' for kind '\(cell.kind)' in cell '\(cell.id)'",
                                           hint: schema.inputs.isEmpty ? "kind '\(cell.kind)' takes no inputs" : suggestion(key, schema.inputs.map(\.name))))
                continue
            }
            // A whole-string template is typed when it resolves; check only literal values here.
            if case .string(let s) = value, s.contains("{{") { continue }
            if !input.type.accepts(value) {
                problems.append(Diagnostic(location(cell, key), "input '\(key)' of cell '\(cell.id)' must be \(input.type.rawValue), found \(value.typeName)",
                                           hint: input.description))
            } else if input.mustBePositive, let n = value.doubleValue, !(n > 0) {
                problems.append(Diagnostic(location(cell, key), "input '\(key)' of cell '\(cell.id)' must be more than 0, found \(value.interpolationText)",
                                           hint: input.description))
            }
        }
        for input in schema.inputs where input.required && cell.with[input.name] == nil {
            problems.append(Diagnostic(cell.location, "cell '\(cell.id)' (kind '\(cell.kind)') needs input '\(input.name)'",
                                       hint: "add it under `with:`: \(input.description)"))
        }
        return problems
    }

    private func checkReferences(_ cell: CellSpec, index: Int, _ pb: Playbook, target: TargetSpec,
                                 params: [String: Value], secretValues: [String: String]) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        var strings: [(String, String)] = []
        func collect(_ v: Value, _ path: String) {
            switch v {
            case .string(let s) where s.contains("{{"): strings.append((path, s))
            case .array(let a): for (i, e) in a.enumerated() { collect(e, "\(path)[\(i)]") }
            case .object(let o): for k in o.keys.sorted() { collect(o[k]!, path.isEmpty ? k : "\(path).\(k)") }
            default: break
            }
        }
        collect(.object(cell.with), "")
        for (path, s) in strings {
            let loc = location(cell, path)
            let template: TemplateString
            do {
                template = try TemplateString(parsing: s)
            } catch {
                problems.append(Diagnostic(loc, "in cell '\(cell.id)': \(error.message)",
                                           hint: "references look like {{ params.NAME }} or {{ cells.ID.OUTPUT }}"))
                continue
            }
            for ref in template.references {
                if let p = problem(ref, cell: cell, index: index, pb, target: target, secretValues: secretValues) {
                    problems.append(Diagnostic(loc, "in cell '\(cell.id)': \(p.0)", hint: p.1))
                }
            }
        }
        return problems
    }

    private func problem(_ ref: Reference, cell: CellSpec, index: Int, _ pb: Playbook, target: TargetSpec,
                         secretValues: [String: String]) -> (String, String)? {
        let name = ref.path[0]
        switch ref.namespace {
        case .params:
            if pb.param(name) == nil {
                return ("unknown param '\(name)' in {{ \(ref) }}",
                        pb.params.isEmpty ? "this playbook declares no params; add it under `params:`" : suggestion(name, pb.params.map(\.name)))
            }
        case .target:
            if target.settings[name] == nil {
                return ("target '\(target.name)' has no setting '\(name)' ({{ \(ref) }})",
                        target.settings.isEmpty ? "add it under targets.\(target.name).settings" : suggestion(name, target.settings.keys.sorted()))
            }
        case .secrets:
            guard let s = pb.secret(name) else {
                return ("unknown secret '\(name)' in {{ \(ref) }}",
                        pb.secrets.isEmpty ? "declare it under `secrets:`" : suggestion(name, pb.secrets.map(\.name)))
            }
            if requireSecrets && s.applies(to: target.name) && secretValues[name] == nil {
                return ("secret '\(name)' is needed by cell '\(cell.id)' but environment variable \(s.env) \(environment[s.env] == nil ? "is not set" : "is empty")",
                        "export \(s.env)=... before running; its value is never stored")
            }
        case .cells:
            guard let producer = pb.cellIndex(name) else {
                return ("unknown cell '\(name)' in {{ \(ref) }}", suggestion(name, pb.cells.map(\.id)))
            }
            if producer >= index {
                let which = producer == index ? "itself" : "cell '\(name)', which runs later (cell \(producer + 1) of \(pb.cells.count))"
                return ("cell '\(cell.id)' reads \(which) in {{ \(ref) }}", "a cell can only read outputs of cells above it")
            }
            let output = ref.path[1]
            let p = pb.cells[producer]
            if let schema = kinds[p.kind] {
                let known = schema.outputs + p.outputs
                if !known.contains(output) {
                    return ("cell '\(name)' has no output '\(output)' ({{ \(ref) }})",
                            known.isEmpty ? "cell '\(name)' publishes no outputs" : suggestion(output, known))
                }
            }
        }
        return nil
    }
}

private struct TemplateLookupMiss: Error {}
