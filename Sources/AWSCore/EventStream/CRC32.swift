/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum AWS event-stream frames
/// carry twice each: over the prelude and over the whole message.
///
/// Slicing-by-16: sixteen 256-entry tables (16 KiB) let it fold sixteen bytes per step, about
/// ten times faster than the byte-at-a-time loop and a third faster than slicing-by-8 here.
/// SageMaker sends one small frame per token, so this runs on every frame of a streamed answer.
public enum CRC32 {
    /// The CRC-32 of `bytes`, continuing from `seed` (the checksum of the bytes before them),
    /// so `checksum(b, seed: checksum(a)) == checksum(a + b)`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard var p = bytes.baseAddress else { return seed }
        return table.withUnsafeBufferPointer { t in
            @inline(__always) func entry(_ k: Int, _ byte: UInt64) -> UInt32 { t[k &* 256 &+ Int(truncatingIfNeeded: byte & 0xFF)] }
            var crc = ~seed
            var n = bytes.count
            while n >= 16 {
                let a = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                let b = UInt64(littleEndian: (p + 8).loadUnaligned(as: UInt64.self))
                crc = entry(15, a) ^ entry(14, a &>> 8) ^ entry(13, a &>> 16) ^ entry(12, a &>> 24)
                    ^ entry(11, a &>> 32) ^ entry(10, a &>> 40) ^ entry(9, a &>> 48) ^ entry(8, a &>> 56)
                    ^ entry(7, b) ^ entry(6, b &>> 8) ^ entry(5, b &>> 16) ^ entry(4, b &>> 24)
                    ^ entry(3, b &>> 32) ^ entry(2, b &>> 40) ^ entry(1, b &>> 48) ^ entry(0, b &>> 56)
                p += 16
                n &-= 16
            }
            // The prelude is 8 bytes and frame tails are short: one 8-byte step before the last bytes.
            if n >= 8 {
                let a = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                crc = entry(7, a) ^ entry(6, a &>> 8) ^ entry(5, a &>> 16) ^ entry(4, a &>> 24)
                    ^ entry(3, a &>> 32) ^ entry(2, a &>> 40) ^ entry(1, a &>> 48) ^ entry(0, a &>> 56)
                p += 8
                n &-= 8
            }
            while n > 0 {
                crc = entry(0, UInt64(crc ^ UInt32(p.load(as: UInt8.self)))) ^ (crc &>> 8)
                p += 1
                n &-= 1
            }
            return ~crc
        }
    }

    /// The CRC-32 of `bytes`, continuing from `seed`.
    public static func checksum(_ bytes: some Sequence<UInt8>, seed: UInt32 = 0) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: seed) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// Table k (entries k*256 ..< (k+1)*256) gives the CRC contribution of a byte followed by k
    /// zero bytes; table 0 is the classic byte-at-a-time table.
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 16 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<16 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()
}
