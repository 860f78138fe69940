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

    /// The 32-byte digest.
    public static func bytes(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        input.withUnsafeBufferPointer { buf in
            _ = SHA256(buf.baseAddress, buf.count, &out)
        }
        return out
    }

    /// Streams a file through SHA-256 (model files are hundreds of MB).
    public static func hex(fileAt path: String) throws -> String {
        guard let f = fopen(path, "rb") else {
            throw SystemError.io("cannot open \(path) to hash it: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        guard let ctx = EVP_MD_CTX_new() else { throw SystemError.io("OpenSSL could not allocate a digest context") }
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

    public static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var s = [UInt8]()
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0xf)])
        }
        return String(decoding: s, as: UTF8.self)
    }
}

/// HMAC-SHA256 through OpenSSL's libcrypto (SigV4 derives its signing key with it).
public enum HMACSHA256 {
    public static func mac(key: [UInt8], data: some Sequence<UInt8>) -> [UInt8] {
        let input = Array(data)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            input.withUnsafeBufferPointer { d in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &len)
            }
        }
        return Array(out.prefix(Int(len)))
    }

    public static func mac(key: [UInt8], data: String) -> [UInt8] { mac(key: key, data: Array(data.utf8)) }
}
