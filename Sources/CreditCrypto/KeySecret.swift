// KeySecret: hashing client API keys for storage and comparing secrets in constant time.

import CLibCrypto

/// Helpers for client API keys, which are stored only as SHA-256 hashes.
public enum KeySecret {
    /// Lowercase hex SHA-256 of the UTF-8 bytes of `secret`: the form in which API keys are stored.
    public static func sha256Hex(_ secret: String) -> String {
        Hex.encode(HMACSHA256.sha256(Array(secret.utf8)))
    }

    /// Whether `a` equals `b`, taking time independent of where they differ (CRYPTO_memcmp).
    ///
    /// Differing lengths return false at once; lengths are not treated as secret.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { aBytes in
            b.withUnsafeBytes { bBytes in
                CRYPTO_memcmp(aBytes.baseAddress, bBytes.baseAddress, aBytes.count) == 0
            }
        }
    }
}
