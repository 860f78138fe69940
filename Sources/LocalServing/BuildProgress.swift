import Foundation

/// Follows a CMake build through its own step counter, as pip -v relays it: Makefiles print
/// `[ 45%] Building CXX object tools/server/CMakeFiles/llama-server.dir/server.cpp.o`, Ninja
/// prints `[123/456] Building CXX object ...`. Gives what is being compiled and an estimate of
/// the time left: the time since the first step, scaled by the share still to do (steps are
/// not equal, so the estimate is rough; it is shown in whole minutes or tens of seconds).
public struct BuildProgress: Sendable, Equatable {
    /// Done so far, 0...1.
    public private(set) var fraction: Double?
    /// The file being compiled or the target being linked, shortened (e.g. `server.cpp`, `llama-server`).
    public private(set) var current: String?
    /// When the first step line was seen.
    public private(set) var startedAt: Date?
    private var lastAt: Date?

    public init() {}

    /// Reads one line of build output; returns whether it was a step line.
    @discardableResult
    public mutating func consume(_ line: String, at now: Date) -> Bool {
        guard let step = Self.parse(line) else { return false }
        if startedAt == nil { startedAt = now }
        if let f = step.fraction { fraction = max(fraction ?? 0, f) }
        if let what = step.what { current = what }
        lastAt = now
        return true
    }

    /// Seconds left, or nil before there is anything to go on (the first 2% of the build, or
    /// under 10 s of it: too little to scale from).
    public func secondsLeft(at now: Date) -> Double? {
        guard let f = fraction, let start = startedAt, f >= 0.02, f < 1 else { return nil }
        let elapsed = now.timeIntervalSince(start)
        guard elapsed >= 10 else { return nil }
        return elapsed * (1 - f) / f
    }

    /// e.g. `compiling server.cpp · 45% · about 3 min left`.
    public func summary(at now: Date) -> String? {
        guard fraction != nil || current != nil else { return nil }
        var parts: [String] = []
        if let current { parts.append(current.hasPrefix("linking ") ? current : "compiling \(current)") }
        if let f = fraction { parts.append("\(Int((f * 100).rounded(.down)))%") }
        if let left = secondsLeft(at: now) { parts.append(Self.describe(left)) }
        return parts.joined(separator: " · ")
    }

    static func describe(_ seconds: Double) -> String {
        if seconds < 60 { return "under a minute left" }
        let minutes = Int((seconds / 60).rounded())
        return "about \(minutes) min left"
    }

    /// One step line: its fraction done and what it works on.
    public static func parse(_ raw: String) -> (fraction: Double?, what: String?)? {
        let line = raw.trimmingCharacters(in: .whitespaces)
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
        let counter = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
        let rest = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
        var fraction: Double?
        if counter.hasSuffix("%"), let p = Double(counter.dropLast().trimmingCharacters(in: .whitespaces)), (0...100).contains(p) {
            fraction = p / 100
        } else if let slash = counter.firstIndex(of: "/"), let done = Double(counter[..<slash]),
                  let total = Double(counter[counter.index(after: slash)...]), total > 0, done <= total {
            fraction = done / total
        } else {
            return nil
        }
        return (fraction, what(rest))
    }

    /// `Building CXX object a/b/CMakeFiles/t.dir/x/server.cpp.o` -> `server.cpp`;
    /// `... CMakeFiles/mtmd.dir/Unity/unity_2_cxx.cxx.o` -> `mtmd (batch 2)`;
    /// `Linking CXX executable ../../bin/llama-server` -> `linking llama-server`; else nil.
    static func what(_ text: String) -> String? {
        if text.hasPrefix("Building "), let object = text.split(separator: " ").last {
            let parts = object.split(separator: "/")
            var name = String(parts.last ?? object)
            if name.hasSuffix(".o") { name.removeLast(2) }
            // A unity batch (`.../llama-common.dir/Unity/unity_3_cxx.cxx.o`) says more by its target.
            if name.hasPrefix("unity_"), let target = parts.last(where: { $0.hasSuffix(".dir") }) {
                let batch = name.split(separator: "_").dropFirst().first.map(String.init) ?? "?"
                return "\(target.dropLast(4)) (batch \(batch))"
            }
            return name
        }
        if text.hasPrefix("Linking "), let target = text.split(separator: " ").last {
            return "linking " + String(target.split(separator: "/").last ?? target)
        }
        return nil
    }
}
