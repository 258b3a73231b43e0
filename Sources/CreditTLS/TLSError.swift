// TLSError: why a TLS context or session could not be set up, with OpenSSL's reason attached.

import CLibSSL
import Glibc

/// A TLS set-up failure with a message fit for an operator (it names the file and the reason).
public struct TLSError: Error, CustomStringConvertible, Sendable {
    /// What failed and why.
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    /// `what` followed by OpenSSL's oldest queued error (or errno's text if OpenSSL queued none).
    static func fromOpenSSL(_ what: String) -> TLSError {
        let reason = OpenSSLError.take()
        return TLSError(reason.isEmpty ? what : "\(what): \(reason)")
    }
}

/// This thread's OpenSSL error queue, read once and emptied.
enum OpenSSLError {
    /// Room for one OpenSSL error string (they are well under 256 bytes).
    private static let textBytesMax = 256

    /// The root-cause error text ("" if the queue is empty); empties the queue.
    static func take() -> String {
        var text = [CChar](repeating: 0, count: textBytesMax)
        cssl_take_error(&text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Empties the queue, so that `SSL_get_error` after the next call sees only that call's errors.
    static func clear() {
        ERR_clear_error()
    }
}

/// strerror as a Swift string.
func systemErrorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
