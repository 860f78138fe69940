import Foundation

/// Small text formatting shared by everything that prints.
public enum Format {
    public static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return String(format: "%.0f ms", seconds * 1000) }
        if seconds < 60 { return String(format: "%.2f s", seconds) }
        let m = Int(seconds) / 60, s = Int(seconds) % 60
        return "\(m) min \(s) s"
    }

    public static func bytes(_ n: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }

    public static func timestamp(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: d)
    }

    /// A plain text table; the first row is the header, then a rule of dashes. Columns are two
    /// spaces apart; lines lose trailing spaces only (an empty first cell keeps its place).
    public static func table(_ rows: [[String]], alignRight: Set<Int> = []) -> String {
        guard let header = rows.first else { return "" }
        var widths = Array(repeating: 0, count: header.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func render(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                return alignRight.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").trailingSpacesRemoved
        }
        var lines = [render(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines += rows.dropFirst().map(render)
        return lines.joined(separator: "\n")
    }

    /// Whether to colour: stdout is a terminal that understands escapes (not TERM=dumb), and NO_COLOR is not set.
    public static let useColor: Bool = shouldColor(terminal: isatty(1) == 1, environment: ProcessInfo.processInfo.environment)

    public static func shouldColor(terminal: Bool, environment: [String: String]) -> Bool {
        terminal && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }

    public static func bold(_ s: String) -> String { useColor ? "\u{1B}[1m\(s)\u{1B}[0m" : s }
    public static func dim(_ s: String) -> String { useColor ? "\u{1B}[2m\(s)\u{1B}[0m" : s }
    public static func green(_ s: String) -> String { useColor ? "\u{1B}[32m\(s)\u{1B}[0m" : s }
    public static func red(_ s: String) -> String { useColor ? "\u{1B}[31m\(s)\u{1B}[0m" : s }
    public static func yellow(_ s: String) -> String { useColor ? "\u{1B}[33m\(s)\u{1B}[0m" : s }
}

extension String {
    /// The text without spaces at its end.
    public var trailingSpacesRemoved: String {
        var text = self
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}
