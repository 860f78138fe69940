/// The text of the elements of an XML document, by path: what reading an AWS Query-protocol
/// (STS, IAM) or S3 response needs, and no more.
///
/// A small scanner rather than Foundation's `XMLParser`: that one would bring libxml2 and
/// FoundationXML into every cellbook process for a handful of fields. It reads elements,
/// attributes (skipped), character data, CDATA, comments, processing instructions and a
/// DOCTYPE (skipped, its entities not expanded); namespace prefixes are dropped from names.
/// Malformed documents are an `XMLReadError`, never a crash.
public struct XMLFields: Sendable, Equatable {
    /// One element: its path from the root (root included) and its own character data.
    public struct Element: Sendable, Equatable {
        public var path: [String]
        public var text: String
    }

    /// Every element in document order.
    public let elements: [Element]

    /// The name of the root element.
    public var rootName: String? { elements.first?.path.first }

    public init(_ text: String) throws(XMLReadError) {
        try self.init(bytes: Array(text.utf8))
    }

    public init(bytes: [UInt8]) throws(XMLReadError) {
        var scanner = XMLScanner(bytes: bytes)
        elements = try scanner.scan()
    }

    /// The text of the first element at `path`. The path starts below the root element, or at
    /// the root when its first name is the root's: `["GetCallerIdentityResult", "Account"]` and
    /// `["GetCallerIdentityResponse", "GetCallerIdentityResult", "Account"]` find the same field.
    public func text(at path: [String]) -> String? {
        elements.first { matches($0.path, path) }?.text
    }

    /// The texts of every element at `path`, in document order (list members).
    public func texts(at path: [String]) -> [String] {
        elements.filter { matches($0.path, path) }.map(\.text)
    }

    /// The text of the first element called `name`, at any depth.
    public func firstText(named name: String) -> String? {
        elements.first { $0.path.last == name }?.text
    }

    private func matches(_ elementPath: [String], _ path: [String]) -> Bool {
        if elementPath == path { return true }
        return elementPath.count == path.count + 1 && elementPath.dropFirst().elementsEqual(path)
    }
}

/// Why a document is not XML this reader accepts. `offset` is in bytes from the start.
public struct XMLReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public var description: String { "malformed XML at byte \(offset): \(reason)" }
}

private struct XMLScanner {
    let bytes: [UInt8]
    var index = 0
    var stack: [String] = []
    /// Index into `elements` of each open element, to attach its text on close.
    var openIndices: [Int] = []
    var texts: [[UInt8]] = []
    var elements: [XMLFields.Element] = []

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte-order mark is not content.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    mutating func scan() throws(XMLReadError) -> [XMLFields.Element] {
        var sawRoot = false
        while index < bytes.count {
            if bytes[index] != UInt8(ascii: "<") {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                let raw = bytes[start..<index]
                if stack.isEmpty {
                    guard raw.allSatisfy(isSpace) else { throw fail("text outside the root element", at: start) }
                } else {
                    texts[texts.count - 1] += try unescape(raw, at: start)
                }
                continue
            }
            if has("<!--") {
                try skip(past: "-->", what: "comment")
            } else if has("<![CDATA[") {
                guard !stack.isEmpty else { throw fail("CDATA outside the root element", at: index) }
                index += 9
                let start = index
                try skip(past: "]]>", what: "CDATA section")
                texts[texts.count - 1] += bytes[start..<(index - 3)]
            } else if has("<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if has("<!") {
                try skipDeclaration()
            } else if has("</") {
                let start = index
                index += 2
                let name = try readName()
                skipSpaces()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { throw fail("unterminated end tag", at: start) }
                index += 1
                guard let open = stack.last else { throw fail("end tag </\(name)> with no open element", at: start) }
                guard open == name else { throw fail("end tag </\(name)> closes <\(open)>", at: start) }
                close()
            } else {
                let start = index
                index += 1
                let name = try readName()
                if stack.isEmpty {
                    guard !sawRoot else { throw fail("a second root element <\(name)>", at: start) }
                    sawRoot = true
                }
                let selfClosing = try skipAttributes(of: name, from: start)
                stack.append(name)
                openIndices.append(elements.count)
                elements.append(XMLFields.Element(path: stack, text: ""))
                texts.append([])
                if selfClosing { close() }
            }
        }
        if let open = stack.last { throw fail("the document ends inside <\(open)>", at: bytes.count) }
        guard sawRoot else { throw fail("no root element", at: bytes.count) }
        return elements
    }

    private mutating func close() {
        let text = texts.removeLast()
        elements[openIndices.removeLast()].text = String(decoding: text, as: UTF8.self)
        stack.removeLast()
    }

    private func has(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let pattern = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        return bytes[index..<(index + count)].elementsEqual(pattern)
    }

    private mutating func skip(past terminator: StaticString, what: String) throws(XMLReadError) {
        let start = index
        while index < bytes.count {
            if has(terminator) {
                index += terminator.utf8CodeUnitCount
                return
            }
            index += 1
        }
        throw fail("unterminated \(what)", at: start)
    }

    /// `<!DOCTYPE ...>`, possibly with an internal subset in brackets.
    private mutating func skipDeclaration() throws(XMLReadError) {
        let start = index
        var depth = 0
        var quote: UInt8?
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "]") {
                depth -= 1
            } else if byte == UInt8(ascii: ">"), depth <= 0 {
                return
            }
        }
        throw fail("unterminated declaration", at: start)
    }

    /// An element name, without its namespace prefix.
    private mutating func readName() throws(XMLReadError) -> String {
        let start = index
        while index < bytes.count, !isSpace(bytes[index]), !"/>=<".utf8.contains(bytes[index]) { index += 1 }
        guard index > start else { throw fail("a tag without a name", at: start) }
        var name = bytes[start..<index]
        if let colon = name.lastIndex(of: UInt8(ascii: ":")) { name = name[(colon + 1)...] }
        guard !name.isEmpty else { throw fail("a tag without a name", at: start) }
        return String(decoding: name, as: UTF8.self)
    }

    /// Skips attributes up to the end of a start tag; true when it was `/>`.
    private mutating func skipAttributes(of name: String, from start: Int) throws(XMLReadError) -> Bool {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                index += 1
                while index < bytes.count, bytes[index] != byte { index += 1 }
                guard index < bytes.count else { break }
                index += 1
            } else if byte == UInt8(ascii: ">") {
                index += 1
                return false
            } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") {
                index += 2
                return true
            } else if byte == UInt8(ascii: "<") {
                break
            } else {
                index += 1
            }
        }
        throw fail("unterminated start tag <\(name)>", at: start)
    }

    private mutating func skipSpaces() {
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Replaces the five predefined entities and character references.
    private func unescape(_ raw: ArraySlice<UInt8>, at offset: Int) throws(XMLReadError) -> [UInt8] {
        guard raw.contains(UInt8(ascii: "&")) else { return Array(raw) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let byte = raw[i]
            guard byte == UInt8(ascii: "&") else {
                out.append(byte)
                i += 1
                continue
            }
            guard let semicolon = raw[i...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw fail("an unterminated entity reference", at: i)
            }
            let entity = String(decoding: raw[(i + 1)..<semicolon], as: UTF8.self)
            switch entity {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var digits = Substring(entity)
                var radix = 10
                guard digits.first == "#" else { throw fail("unknown entity &\(entity);", at: i) }
                digits = digits.dropFirst()
                if digits.first == "x" || digits.first == "X" {
                    radix = 16
                    digits = digits.dropFirst()
                }
                guard !digits.isEmpty, let value = UInt32(digits, radix: radix), let scalar = Unicode.Scalar(value) else {
                    throw fail("a bad character reference &\(entity);", at: i)
                }
                out += Array(String(Character(scalar)).utf8)
            }
            i = semicolon + 1
        }
        return out
    }

    private func fail(_ reason: String, at offset: Int) -> XMLReadError {
        XMLReadError(reason: reason, offset: offset)
    }
}
