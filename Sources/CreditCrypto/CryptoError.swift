// CryptoError: what can go wrong configuring card generation or loading the server secret.

/// An error from CreditCrypto, with a message fit for an operator's log.
///
/// Messages name the file or setting at fault and never include secret material.
public enum CryptoError: Error, CustomStringConvertible, Equatable {
    /// A card generator setting is out of range; the text says which and why.
    case badConfiguration(String)
    /// The secret file grants some permission to group or others, so it may have leaked.
    case secretFileInsecure(path: String)
    /// The secret file exists but does not hold exactly 64 hex characters.
    case secretFileInvalid(path: String, reason: String)
    /// A system call on the secret file (or its directory) failed.
    case secretFileIO(path: String, operation: String, errno: Int32)

    /// A human-readable message naming the path or setting at fault.
    public var description: String {
        switch self {
        case .badConfiguration(let message):
            return "bad card generator configuration: \(message)"
        case .secretFileInsecure(let path):
            return "server secret file \(path) is readable or writable by group or others; "
                + "run 'chmod 600 \(path)' and rotate the secret if it may have been copied"
        case .secretFileInvalid(let path, let reason):
            return "server secret file \(path) is invalid: \(reason)"
        case .secretFileIO(let path, let operation, let code):
            return "server secret file \(path): \(operation) failed: \(SystemErrorText.describe(code))"
        }
    }
}
