// ServerSecret: the 32-byte key behind every card and PIN digest, kept in an owner-only file.

import Glibc

/// The server's HMAC key. Losing it makes every stored card unfindable; leaking it lets an
/// attacker test guessed card numbers offline, so it is kept in a mode-0600 file and never printed.
public struct ServerSecret: Sendable {
    /// Size of the secret in bytes (256 bits, the HMAC-SHA256 output size).
    public static let byteCount = 32
    /// File size bound: 64 hex characters, an optional newline, one byte to detect excess.
    private static let fileByteCountMax = 2 * byteCount + 2

    /// The key bytes; internal so only `KeyedHasher` uses them.
    let bytes: [UInt8]

    /// A secret from exactly 32 bytes (for tests and tools; the daemon uses `loadOrCreate`).
    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "a server secret is exactly 32 bytes")
        self.bytes = bytes
    }

    /// Loads the secret at `path`, or creates it there from the CSPRNG if no file exists.
    ///
    /// A created file holds 64 lowercase hex characters and a newline, mode 0600, and is fsynced
    /// with its directory. An existing file is refused if group or others have any permission,
    /// or if it does not hold exactly 64 hex characters (optionally followed by a newline).
    public static func loadOrCreate(path: String) throws -> ServerSecret {
        precondition(!path.isEmpty, "server secret path must not be empty")
        if let fd = try SecretFile.openExisting(path) { return try load(fd, path: path) }
        if let created = try create(path: path) { return created }
        // Another process created the file between our two opens: use theirs.
        guard let fd = try SecretFile.openExisting(path) else {
            throw CryptoError.secretFileIO(path: path, operation: "open", errno: ENOENT)
        }
        return try load(fd, path: path)
    }

    private static func load(_ fd: Int32, path: String) throws -> ServerSecret {
        defer { close(fd) }
        let mode = try SecretFile.mode(fd, path: path)
        guard mode & S_IFMT == S_IFREG else {
            throw CryptoError.secretFileInvalid(path: path, reason: "not a regular file")
        }
        guard mode & 0o077 == 0 else { throw CryptoError.secretFileInsecure(path: path) }
        return try parse(SecretFile.read(fd, path: path, byteCountMax: fileByteCountMax), path: path)
    }

    private static func parse(_ content: [UInt8], path: String) throws -> ServerSecret {
        let text = content.last == UInt8(ascii: "\n") ? content.dropLast() : content[...]
        guard text.count == 2 * byteCount, let bytes = Hex.decode(text) else {
            throw CryptoError.secretFileInvalid(
                path: path, reason: "expected exactly 64 hex characters and an optional newline")
        }
        return ServerSecret(bytes: bytes)
    }

    /// Creates the file with a fresh secret; nil if it appeared meanwhile. Removes it on failure.
    private static func create(path: String) throws -> ServerSecret? {
        guard let fd = try SecretFile.createExclusive(path) else { return nil }
        let secret = ServerSecret(bytes: SecureRandom.bytes(byteCount))
        do {
            defer { close(fd) }
            try SecretFile.write(fd, Array((Hex.encode(secret.bytes) + "\n").utf8), path: path)
            try SecretFile.sync(fd, path: path)
        } catch {
            unlink(path)
            throw error
        }
        try SecretFile.syncDirectory(of: path)
        return secret
    }
}

extension ServerSecret: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Always "ServerSecret(redacted)": the key must never reach a log.
    public var description: String { "ServerSecret(redacted)" }
    /// Always "ServerSecret(redacted)".
    public var debugDescription: String { description }
    /// A mirror without the key bytes, so `dump` cannot leak it.
    public var customMirror: Mirror { Mirror(self, children: []) }
}
