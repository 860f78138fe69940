import CellbookHTTP
import Foundation
import Testing

/// Decodes `wire` fed in pieces cut at `cuts`; returns the data, whether the framing was sound,
/// and whether the body was complete.
private func decode(_ wire: [UInt8], cuts: [Int] = []) -> (data: [UInt8], ok: Bool, complete: Bool, problem: String?) {
    var decoder = ChunkedDecoder()
    var data: [UInt8] = []
    var ok = true
    var start = 0
    for end in cuts.filter({ $0 > 0 && $0 < wire.count }).sorted() + [wire.count] where end >= start {
        wire[start..<end].withUnsafeBytes { piece in
            ok = decoder.decode(piece) { data.append(contentsOf: $0) } && ok
        }
        start = end
    }
    return (data, ok, decoder.isComplete, decoder.problem)
}

@Suite("Chunked transfer decoding")
struct ChunkedDecoderTests {
    static let wire = Array("4\r\nWiki\r\n7;name=value\r\npedia i\r\n0B\r\nn \r\nchunks.\r\n0\r\nExpires: never\r\n\r\n".utf8)

    @Test("chunks, a chunk extension, an upper-case size and a trailer decode to the data")
    func whole() {
        let result = decode(Self.wire)
        #expect(String(decoding: result.data, as: UTF8.self) == "Wikipedia in \r\nchunks.")
        #expect(result.ok && result.complete)
    }

    @Test("the same bytes cut at every position, and at every pair of positions, decode the same")
    func everySplit() {
        let expected = decode(Self.wire).data
        for a in 0...Self.wire.count {
            let one = decode(Self.wire, cuts: [a])
            #expect(one.data == expected && one.ok && one.complete, "cut at \(a)")
            for b in stride(from: a, through: Self.wire.count, by: 7) {
                let two = decode(Self.wire, cuts: [a, b])
                #expect(two.data == expected && two.ok && two.complete, "cut at \(a), \(b)")
            }
        }
    }

    @Test("bare LF line ends are accepted; the body is incomplete until the last chunk's blank line")
    func bareLineFeeds() {
        let result = decode(Array("3\nabc\n0\n\n".utf8))
        #expect(result.data == Array("abc".utf8) && result.ok && result.complete)
        let open = decode(Array("3\r\nabc\r\n0\r\n".utf8))
        #expect(open.ok && !open.complete)
    }

    @Test("broken framing is reported, not decoded into the data", arguments: [
        ("zz\r\nabc\r\n", "not a hex digit"),
        ("\r\nabc\r\n", "without a size"),
        ("2\r\nabc\r\n", "longer than its declared size"),
        ("fffffffffffffffff\r\n", "too large"),
    ])
    func malformed(_ wire: String, _ reason: String) {
        let result = decode(Array(wire.utf8))
        #expect(!result.ok)
        #expect(result.problem?.contains(reason) == true, "\(result.problem ?? "no problem")")
        #expect(result.data.count <= 2)
    }
}
