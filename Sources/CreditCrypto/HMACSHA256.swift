// HMACSHA256: one-shot HMAC-SHA256 and SHA-256 through libcrypto, with the digest fetched once.

import CLibCrypto

/// HMAC-SHA256 and SHA-256 over byte arrays, one libcrypto call each.
///
/// Each call is self-contained (no shared context), so it is safe from any thread.
public enum HMACSHA256 {
    /// SHA-256 fetched once from the default provider. `EVP_sha256()` would make OpenSSL 3 look
    /// the algorithm up on every call (under a lock): 3-4x slower and contended across threads.
    /// A fetched `EVP_MD` is immutable and documented as shareable between threads, hence
    /// `nonisolated(unsafe)`; it is never freed, living as long as the process.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let fetched = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("creditd: OpenSSL has no SHA256 implementation available")
        }
        return fetched
    }()

    /// Output size of SHA-256 and HMAC-SHA256, in bytes.
    public static let outputByteCount = 32

    /// HMAC-SHA256 of `message` under `key` (RFC 2104), one self-contained call. The request
    /// path uses `PrekeyedMAC`; this one-shot form is for occasional use and is the independent
    /// reference the keyed digests are tested against.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputByteCount)
        var written: UInt32 = 0
        let result = key.withUnsafeBufferPointer { keyBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                out.withUnsafeMutableBufferPointer { outBuffer in
                    HMAC(algorithm, keyBuffer.baseAddress, Int32(keyBuffer.count),
                         messageBuffer.baseAddress, messageBuffer.count,
                         outBuffer.baseAddress, &written)
                }
            }
        }
        precondition(result != nil && written == UInt32(outputByteCount), "OpenSSL HMAC-SHA256 failed")
        return out
    }

    /// SHA-256 of `message` (FIPS 180-4).
    public static func sha256(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputByteCount)
        var written: UInt32 = 0
        let ok = message.withUnsafeBufferPointer { messageBuffer in
            out.withUnsafeMutableBufferPointer { outBuffer in
                EVP_Digest(messageBuffer.baseAddress, messageBuffer.count,
                           outBuffer.baseAddress, &written, algorithm, nil)
            }
        }
        precondition(ok == 1 && written == UInt32(outputByteCount), "OpenSSL SHA-256 failed")
        return out
    }
}
