import AWSCore
import Testing

@Suite struct CRC32Tests {
    /// The plain bit-at-a-time definition, to check the sliced tables against.
    private func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }

    @Test func knownValues() {
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        // The empty event-stream message's prelude checksum.
        #expect(CRC32.checksum([0, 0, 0, 0x10, 0, 0, 0, 0]) == 0x05C2_48EB)
    }

    @Test func matchesTheBitwiseDefinitionAtEveryLengthAndAlignment() {
        var generator = SeededGenerator(seed: 7)
        let bytes = (0..<200).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<9 {
            for length in 0...(bytes.count - start) where length < 40 || length % 17 == 0 {
                let slice = Array(bytes[start..<(start + length)])
                let sliced = bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
                #expect(sliced == reference(slice), "start \(start) length \(length)")
            }
        }
    }

    @Test func continuesFromASeed() {
        let a = Array("hello, ".utf8)
        let b = Array("event stream".utf8)
        #expect(CRC32.checksum(b, seed: CRC32.checksum(a)) == CRC32.checksum(a + b))
    }
}
