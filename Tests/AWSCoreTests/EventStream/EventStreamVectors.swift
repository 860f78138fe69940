import AWSCore
import Foundation

/// aws/aws-sdk-go's event-stream test vectors (Fixtures/eventstream, Apache-2.0, see its
/// NOTICE.txt): `encoded/<kind>/<name>` holds a frame, `decoded/<kind>/<name>` its JSON
/// description (positive) or the expected error text (negative).
enum EventStreamVectors {
    static let positiveNames = ["all_headers", "empty_message", "int32_header", "payload_no_headers", "payload_one_str_header"]
    static let negativeNames = ["corrupted_header_len", "corrupted_headers", "corrupted_length", "corrupted_payload"]

    static func encoded(_ kind: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url("encoded", kind, name)))
    }

    static func decodedText(_ kind: String, _ name: String) throws -> String {
        try String(contentsOf: url("decoded", kind, name), encoding: .utf8)
    }

    /// The JSON description of a positive vector.
    struct Decoded: Decodable {
        struct Header: Decodable {
            var name: String
            var type: Int
            var value: Value
        }

        enum Value: Decodable {
            case bool(Bool), int(Int64), base64(String)

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let flag = try? container.decode(Bool.self) {
                    self = .bool(flag)
                } else if let number = try? container.decode(Int64.self) {
                    self = .int(number)
                } else {
                    self = .base64(try container.decode(String.self))
                }
            }
        }

        var total_length: Int
        var headers_length: Int
        var prelude_crc: Int64
        var headers: [Header]
        var payload: String
        var message_crc: Int64

        /// The message this description stands for.
        func message() throws -> EventStreamMessage {
            let headers = try headers.map { header -> EventStreamHeader in
                EventStreamHeader(name: header.name, value: try value(header))
            }
            return EventStreamMessage(headers: headers, payload: try bytes(payload))
        }

        private func value(_ header: Header) throws -> EventStreamHeaderValue {
            switch (header.type, header.value) {
            case (0, .bool(let flag)), (1, .bool(let flag)): return .bool(flag)
            case (2, .int(let n)): return .byte(Int8(n))
            case (3, .int(let n)): return .int16(Int16(n))
            case (4, .int(let n)): return .int32(Int32(n))
            case (5, .int(let n)): return .int64(n)
            case (6, .base64(let text)): return .bytes(try bytes(text))
            case (7, .base64(let text)): return .string(String(decoding: try bytes(text), as: UTF8.self))
            case (8, .int(let n)): return .timestamp(n)
            case (9, .base64(let text)): return .uuid(try bytes(text))
            default: throw VectorError.unreadable("header \(header.name) of type \(header.type)")
            }
        }

        private func bytes(_ base64: String) throws -> [UInt8] {
            guard let data = Data(base64Encoded: base64) else { throw VectorError.unreadable("base64 \(base64)") }
            return [UInt8](data)
        }
    }

    enum VectorError: Error { case unreadable(String) }

    static func decoded(_ name: String) throws -> Decoded {
        try JSONDecoder().decode(Decoded.self, from: Data(contentsOf: url("decoded", "positive", name)))
    }

    private static func url(_ side: String, _ kind: String, _ name: String) -> URL {
        Bundle.module.resourceURL!
            .appendingPathComponent("Fixtures/eventstream/\(side)/\(kind)/\(name)")
    }
}

/// A deterministic generator for split points and fuzz input (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Wraps raw header bytes and a payload into a frame whose checksums are right, to reach the
/// header parser with structures the encoder would never produce.
func frame(rawHeaders: [UInt8], payload: [UInt8] = []) -> [UInt8] {
    var out: [UInt8] = []
    func append32(_ value: UInt32) { withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) } }
    append32(UInt32(16 + rawHeaders.count + payload.count))
    append32(UInt32(rawHeaders.count))
    append32(CRC32.checksum(out))
    out += rawHeaders + payload
    append32(CRC32.checksum(out))
    return out
}

/// A frame whose prelude declares these lengths, with a correct prelude checksum.
func prelude(total: UInt32, headers: UInt32) -> [UInt8] {
    var out: [UInt8] = []
    func append32(_ value: UInt32) { withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) } }
    append32(total)
    append32(headers)
    append32(CRC32.checksum(out))
    return out
}
