/// Failures that stop a load test before or after it runs. Failures of single requests are
/// not errors: they are recorded per request (`RequestFailure`) and counted in the summary.
public enum LoadBenchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every problem found in the config, reported together.
    case invalidConfig([String])
    /// The probe requests that measure how the server counts prompt tokens failed.
    case calibrationFailed(endpoint: String, reason: String)
    /// The bundled sonnet text is missing or empty (a packaging fault).
    case corpusMissing(String)
    /// A results file could not be written.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfig(let problems):
            return "load test config has \(problems.count) problem\(problems.count == 1 ? "" : "s"):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .calibrationFailed(let endpoint, let reason):
            return "could not calibrate prompt lengths against \(endpoint): \(reason). "
                + "Check that the endpoint is up and serves streaming chat completions, "
                + "or pass a TokenLengthModel to skip calibration."
        case .corpusMissing(let detail):
            return "the prompt corpus (Resources/sonnets.txt in LoadBench) is unusable: \(detail). "
                + "Rebuild cellbook; the file ships inside the LoadBench resource bundle."
        case .cannotWrite(let path, let reason):
            return "could not write \(path): \(reason). Check that the results directory is writable."
        }
    }
}
