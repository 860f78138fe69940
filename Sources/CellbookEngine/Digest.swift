import Foundation
import CCrypto

/// SHA-256 through OpenSSL's libcrypto.
public enum SHA256Digest {
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        input.withUnsafeBufferPointer { buf in
            _ = SHA256(buf.baseAddress, buf.count, &out)
        }
        return hexString(out)
    }

    public static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    /// Streams a file through SHA-256 (model files are hundreds of MB).
    public static func hex(fileAt path: String) throws -> String {
        guard let f = fopen(path, "rb") else {
            throw EngineError.io("cannot open \(path) to hash it: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        guard let ctx = EVP_MD_CTX_new() else { throw EngineError.io("OpenSSL could not allocate a digest context") }
        defer { EVP_MD_CTX_free(ctx) }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { EVP_DigestUpdate(ctx, buf, n) }
            if n < buf.count { break }
        }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &len)
        return hexString(out.prefix(Int(len)))
    }

    static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var s = [UInt8]()
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0xf)])
        }
        return String(decoding: s, as: UTF8.self)
    }
}
