// KeyAdmin: `creditd keys add` — make a client key with a strong secret, store only its hash.

import CreditCore
import CreditCrypto
import CreditProtocol
import Foundation
import Glibc

/// Adds client keys to a keys file.
public enum KeyAdmin {
    /// Secret size: 32 random bytes (256 bits), shown as 43 base64url characters.
    static let secretBytes = 32

    /// Appends a new key `id` with `role` to the keys file (created 0600 if missing) and returns
    /// its secret, which is shown once and stored nowhere: the file keeps only its SHA-256.
    public static func add(file: String, id: String, role: String) throws -> String {
        guard ProfileID(id) != nil else { throw ConfigError("key id must be 1-64 of A-Z a-z 0-9 _ . : @ -") }
        guard Role(rawValue: role) != nil else {
            throw ConfigError("role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if FileManager.default.fileExists(atPath: file) {
            let existing = try KeyStore.load(path: file)
            guard !existing.isEnabled(ClientID(id)) else { throw ConfigError("key \(id) already exists in \(file)") }
        }
        let secret = base64URL(SecureRandom.bytes(secretBytes))
        let line = "\(id) \(role) sha256:\(KeySecret.sha256Hex(secret))\n"
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError("cannot open \(file): \(errnoText())") }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw ServerError("cannot write \(file): \(errnoText())")
        }
        return secret
    }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
