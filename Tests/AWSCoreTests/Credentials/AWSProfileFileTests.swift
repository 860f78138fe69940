import Testing
@testable import AWSCore

@Suite struct AWSProfileFileTests {
    @Test func commentsWhitespaceAndCaseInsensitiveKeys() throws {
        let file = try AWSProfileFile.parse("""
            # comment
            ; another
              [ profile   dev ]   # trailing comment
            Region =   eu-west-1\r
            s3 =
                addressing_style = path
            output=json
            [default]
            key = a=b
            """, path: "config")
        #expect(file.sections["profile dev"] == ["region": "eu-west-1", "s3": "addressing_style = path", "output": "json"])
        #expect(file.sections["default"] == ["key": "a=b"])
        #expect(file.configProfile("dev")?["region"] == "eu-west-1")
    }

    @Test func aRepeatedSectionAddsToTheFirst() throws {
        let file = try AWSProfileFile.parse("[a]\nx = 1\n[b]\n[a]\ny = 2\nx = 3\n", path: "f")
        #expect(file.sections["a"] == ["x": "3", "y": "2"])
    }

    @Test(arguments: [
        ("key = value\n", 1, "before any [section]"),
        ("[default]\n\njust words\n", 3, "expected \"key = value\""),
        ("[default\n", 1, "no closing"),
        ("[default]\n = v\n", 2, "no key"),
        ("[]\n", 1, "empty section"),
        ("[default] junk\n", 1, "after the section header"),
    ])
    func malformedLinesNameTheirLine(text: String, line: Int, reason: String) {
        let error = #expect(throws: AWSConfigError.self) { try AWSProfileFile.parse(text, path: "/h/.aws/config") }
        guard case .malformedFile(let path, let errorLine, let errorReason) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(path == "/h/.aws/config")
        #expect(errorLine == line)
        #expect(errorReason.contains(reason))
    }
}
