import CellbookEngine
import Foundation
import PlaybookModel
import Testing

@Suite("Secrets never reach outputs/")
struct RedactorTests {
    static let secret = "s3cr3t-Zebra-9931"

    @Test("a secret echoed, published, failed on and passed in a command is masked in every file under outputs/")
    func secretsAbsentFromOutputs() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: secretive
            secrets:
              TOKEN:
                env: CBTEST_TOKEN
            cells:
              - id: publish
                kind: shell
                with:
                  command: |
                    echo "token is $T"
                    echo "on stderr: $T" >&2
                    printf '{"token": "%s", "nested": {"list": ["%s"]}}\\n' "$T" "$T"
                  env:
                    T: "{{ secrets.TOKEN }}"
                outputs: [token, nested]
              - id: inline
                kind: shell
                with:
                  command: "echo inline {{ secrets.TOKEN }}; echo 'read {{ cells.publish.token }}'"
              - id: fail
                kind: shell
                with:
                  command: "echo failing with {{ secrets.TOKEN }} >&2; exit 1"
            """)
        let env = ["CBTEST_TOKEN": Self.secret]
        let run = try await box.cellbook("run", pb, "--format", "json", environment: env)
        #expect(run.code == 1, "\(run)")
        #expect(try run.statuses() == ["publish:ran", "inline:ran", "fail:failed"])
        #expect(!run.stdout.contains(Self.secret) && !run.stderr.contains(Self.secret), "the terminal never shows the secret")

        let files = box.files(under: box.outputs)
        #expect(files.contains { $0.hasSuffix("/state.json") })
        #expect(files.contains { $0.hasSuffix("/cells/publish/log.txt") })
        var masked = 0
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(!text.contains(Self.secret), "the secret is in \(file):\n\(text)")
            if text.contains("[secret:TOKEN]") { masked += 1 }
        }
        let state = try box.state("secretive")
        #expect(state["cells"]?["publish"]?["outputs"]?["token"] == "[secret:TOKEN]")
        #expect(state["cells"]?["publish"]?["outputs"]?["nested"] == ["list": ["[secret:TOKEN]"]])
        #expect(state["cells"]?["inline"]?["inputs"]?["command"]?.stringValue?.contains("echo inline [secret:TOKEN]") == true)
        #expect(state["cells"]?["fail"]?["error"]?.stringValue?.contains("failing with [secret:TOKEN]") == true)
        let log = try String(contentsOfFile: "\(box.outputs)/secretive/default/cells/publish/log.txt", encoding: .utf8)
        #expect(log.contains("token is [secret:TOKEN]") && log.contains("on stderr: [secret:TOKEN]"), "\(log)")
        #expect(masked >= 3, "state.json and the logs show [secret:TOKEN] where the secret was")

        for command in ["state", "list"] {
            let read = try await box.cellbook(command, pb, "--format", "json", environment: env)
            #expect(read.code == 0)
            #expect(!read.stdout.contains(Self.secret))
        }
        let show = try await box.cellbook("show", pb, "publish", environment: env)
        #expect(show.stdout.contains("[secret:TOKEN]") && !show.stdout.contains(Self.secret), "\(show)")
    }

    @Test("a secret that straddles a 64 KiB chunk of output is still masked in the cell's log")
    func secretAcrossReadBoundary() async throws {
        let box = try Sandbox()
        // One write of 65,530 filler bytes plus the secret: the pipe hands cellbook the first
        // 65,536 bytes in one read, splitting the secret after its sixth character.
        let pb = try box.playbook("""
            name: boundary
            secrets: [TOKEN]
            cells:
              - id: big
                kind: shell
                with:
                  command: |
                    head -c 65530 /dev/zero | tr '\\0' a > @DIR@/blob
                    printf '%s\\n' "$T" >> @DIR@/blob
                    cat @DIR@/blob
                  env:
                    T: "{{ secrets.TOKEN }}"
            """)
        let run = try await box.cellbook("run", pb, environment: ["TOKEN": Self.secret])
        #expect(run.code == 0, "\(run.stderr)")
        let log = try String(contentsOfFile: "\(box.outputs)/boundary/default/cells/big/log.txt", encoding: .utf8)
        let logLeaks = log.contains(Self.secret), terminalLeaks = run.stdout.contains(Self.secret)
        #expect(!logLeaks, "log.txt holds the secret in clear text")
        #expect(!terminalLeaks, "the terminal shows the secret in clear text")
    }

    /// Non-ASCII (two bytes, three bytes, beyond the BMP), quotes, a backslash, a slash and a line break.
    static let awkward = "p\u{e4}ss \"quoted\" back\\slash/\nline2 \u{20AC}\u{1F600}"

    /// How Python prints `awkward`: json.dumps (ensure_ascii on and off), quote(safe=""), quote, quote_plus.
    static let awkwardAsPythonPrintsIt = [
        #"p\u00e4ss \"quoted\" back\\slash/\nline2 \u20ac\ud83d\ude00"#,
        #"päss \"quoted\" back\\slash/\nline2 €😀"#,
        "p%C3%A4ss%20%22quoted%22%20back%5Cslash%2F%0Aline2%20%E2%82%AC%F0%9F%98%80",
        "p%C3%A4ss%20%22quoted%22%20back%5Cslash/%0Aline2%20%E2%82%AC%F0%9F%98%80",
        "p%C3%A4ss+%22quoted%22+back%5Cslash%2F%0Aline2+%E2%82%AC%F0%9F%98%80",
    ]

    @Test("a secret with non-ASCII, quotes, a backslash and a line break is masked as written, JSON-escaped and URL-encoded")
    func encodedFormsMasked() {
        let r = Redactor(secrets: ["TOKEN": Self.awkward])
        for form in [Self.awkward] + Self.awkwardAsPythonPrintsIt {
            #expect(r.redact("before \(form) after") == "before [secret:TOKEN] after", "not masked: \(form)")
        }
        // Upper-case hex and an escaped slash, as other JSON writers print them.
        #expect(r.redact(#"p\u00E4ss \"quoted\" back\\slash\/\nline2 \u20AC\uD83D\uDE00"#) == "[secret:TOKEN]")
        // An ASCII secret with nothing to escape has one form: nothing else is touched.
        let plain = Redactor(secrets: ["K": "abcd-1234"])
        #expect(plain.redact("abcd%2D1234 abcd-1234") == "abcd%2D1234 [secret:K]")
    }

    @Test("secrets printed by json.dumps and urllib are masked in state.json, log.txt and on the terminal")
    func encodedFormsNeverStored() async throws {
        let box = try Sandbox()
        let pb = try box.playbook("""
            name: encoded
            secrets:
              TOKEN:
                env: CBTEST_TOKEN
            cells:
              - id: dump
                kind: shell
                with:
                  command: |
                    printf '%s\\n' "$T"
                    python3 -c 'import json, os, urllib.parse as u; t = os.environ["T"]; print(json.dumps(t)); print(json.dumps(t, ensure_ascii=False)); print(u.quote(t, safe="")); print(u.quote(t)); print(u.quote_plus(t)); print(json.dumps({"token": t}))'
                  env:
                    T: "{{ secrets.TOKEN }}"
                outputs: [token]
            """)
        let run = try await box.cellbook("run", pb, environment: ["CBTEST_TOKEN": Self.awkward])
        #expect(run.code == 0, "\(run)")
        let forms = [Self.awkward, "p\u{e4}ss"] + Self.awkwardAsPythonPrintsIt + ["p\\u00e4ss", "p%C3%A4ss"]
        for file in box.files(under: box.outputs) {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            for form in forms {
                #expect(!text.contains(form), "\(file) holds the secret as \(form):\n\(text)")
            }
        }
        for form in forms { #expect(!run.stdout.contains(form), "the terminal shows the secret as \(form)") }
        let log = try String(contentsOfFile: "\(box.outputs)/encoded/default/cells/dump/log.txt", encoding: .utf8)
        #expect(log.components(separatedBy: "[secret:TOKEN]").count - 1 == 7, "\(log)")
        #expect(log.contains(#"{"token": "[secret:TOKEN]"}"#))
        #expect(try box.state("encoded")["cells"]?["dump"]?["outputs"]?["token"] == "[secret:TOKEN]")
    }

    @Test("the redactor masks every secret, the longest first, at any depth of a value")
    func redactorValues() {
        let r = Redactor(secrets: ["LONG": "abcd-efgh-ijkl", "SHORT": "efgh", "TINY": "ab"])
        #expect(r.redact("x abcd-efgh-ijkl y efgh z") == "x [secret:LONG] y [secret:SHORT] z")
        #expect(r.redact(["a": ["efgh", 3, ["k": "--abcd-efgh-ijkl--"]]] as Value)
                == ["a": ["[secret:SHORT]", 3, ["k": "--[secret:LONG]--"]]])
        // Values shorter than four characters are not masked (they would mangle ordinary text).
        #expect(r.redact("ab") == "ab")
        #expect(Redactor(secrets: [:]).isEmpty)
    }
}
