import CellbookRecording
import Foundation

/// An asciicast v2 file: the terminal session with its recorded timing (`asciinema play`), and
/// a marker (`"m"`) where each cell starts. Line breaks become CR LF, as a terminal shows them.
public enum CastExport {
    public static func render(_ r: Recording, width: Int = 100, height: Int = 30) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        struct Header: Encodable {
            var version = 2
            var width: Int
            var height: Int
            var timestamp: Int
            var title: String
            var env = ["TERM": "xterm-256color", "SHELL": "/bin/sh"]
        }
        func line(_ t: Double, _ code: String, _ data: String) -> String {
            let text = (try? e.encode([data])).map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
            return "[\(String(format: "%.6f", t)), \"\(code)\", \(text.dropFirst().dropLast())]\n"
        }
        let header = Header(width: width, height: height, timestamp: Int(r.header.startedAt.timeIntervalSince1970),
                            title: "\(r.header.playbook.title) (\(r.header.target))")
        var out = (try? e.encode(header)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? ""
        var last = 0.0
        for event in r.events {
            let t = max(last, event.t)
            switch event {
            case .cellStart(let s):
                out += line(t, "m", "\(s.id): \(s.title)")
            case .print(let p):
                out += line(t, "o", crlf(p.text))
            default: continue
            }
            last = t
        }
        return out
    }

    static func crlf(_ s: String) -> String {
        var out = ""
        var previous: Character = " "
        for c in s.unicodeScalars.map(Character.init) {
            if c == "\n" && previous != "\r" { out += "\r" }
            out.append(c)
            previous = c
        }
        return out
    }
}
