import AWSCore
import Testing

@Suite struct XMLFieldsTests {
    @Test func readsGetCallerIdentity() throws {
        for body in [AWSResponseSamples.getCallerIdentity, AWSResponseSamples.getCallerIdentityIndented] {
            let fields = try XMLFields(body)
            #expect(fields.rootName == "GetCallerIdentityResponse")
            let account = fields.text(at: ["GetCallerIdentityResult", "Account"])
            #expect(account == "123456789012" || account == "111122223333")
            #expect(fields.text(at: ["GetCallerIdentityResponse", "GetCallerIdentityResult", "Account"]) == account)
            #expect(fields.text(at: ["GetCallerIdentityResult", "Arn"])?.hasPrefix("arn:aws:sts::") == true)
            #expect(fields.text(at: ["ResponseMetadata", "RequestId"]) != nil)
            #expect(fields.text(at: ["Account"]) == nil, "a path starts below the root, not anywhere")
        }
    }

    @Test func readsGetRoleWithEntitiesAndLists() throws {
        let fields = try XMLFields(AWSResponseSamples.getRole)
        #expect(fields.text(at: ["GetRoleResult", "Role", "Arn"]) == "arn:aws:iam::123456789012:role/service-role/sagemaker_execution_role")
        #expect(fields.text(at: ["GetRoleResult", "Role", "Description"]) == "SageMaker & <friends>")
        #expect(fields.texts(at: ["GetRoleResult", "Role", "Tags", "member", "Key"]) == ["team", "env"])
        #expect(fields.texts(at: ["GetRoleResult", "Role", "Tags", "member", "Value"]) == ["ml & <ops>", "dev"])
        #expect(fields.text(at: ["GetRoleResult", "Role", "RoleLastUsed"]) == "", "a self-closed element is empty")
        #expect(fields.firstText(named: "MaxSessionDuration") == "3600")
    }

    @Test func unescapesEveryEntityAndCharacterReference() throws {
        let fields = try XMLFields("<a><b>&amp;&lt;&gt;&quot;&apos; &#65;&#x42;&#X43; &#233;&#x1F600;</b></a>")
        #expect(fields.text(at: ["b"]) == "&<>\"' ABC é😀")
    }

    @Test func readsCDATACommentsNamespacesAndAttributes() throws {
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE r [ <!ENTITY x "y"> ]>
            <!-- a comment with <tags> -->
            <ns:r xmlns:ns="urn:x" a='1 > 0' b="/>">
              <ns:c><![CDATA[<raw> & text]]> and &amp; more</ns:c>
              <d/><d></d>
            </ns:r>
            """
        let fields = try XMLFields(xml)
        #expect(fields.rootName == "r")
        #expect(fields.text(at: ["c"]) == "<raw> & text and & more")
        #expect(fields.texts(at: ["d"]) == ["", ""])
    }

    @Test(arguments: [
        ("", "no root element"),
        ("just text", "text outside the root element"),
        ("<a>", "ends inside <a>"),
        ("<a></b>", "end tag </b> closes <a>"),
        ("<a></a></a>", "no open element"),
        ("<a/><b/>", "a second root element <b>"),
        ("<a>&bogus;</a>", "unknown entity &bogus;"),
        ("<a>&#xZZ;</a>", "bad character reference"),
        ("<a>&#xD800;</a>", "bad character reference"),
        ("<a>& b</a>", "unterminated entity"),
        ("<a b=\"1></a>", "unterminated start tag <a>"),
        ("<a><!-- open</a>", "unterminated comment"),
        ("<a><![CDATA[x</a>", "unterminated CDATA"),
        ("<>", "a tag without a name"),
        ("<a></a", "unterminated end tag"),
    ])
    func malformedDocumentsAreErrors(_ xml: String, _ reason: String) {
        let error = #expect(throws: XMLReadError.self) { try XMLFields(xml) }
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("malformed XML at byte ") == true)
    }

    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(seed: 3)
        let alphabet = Array("<>/!?[]-&;#x:=\"' abAB01\n".utf8)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? XMLFields(bytes: bytes)
        }
    }
}
