// SystemErrorText: turns an errno value into readable text for error messages.

import Glibc

/// Renders `errno` values as text, e.g. "No such file or directory (errno 2)".
enum SystemErrorText {
    /// The C library's message for `code`, followed by the number itself.
    static func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        // strerror_r rather than strerror: the latter may share a buffer across threads.
        guard strerror_r(code, &buffer, buffer.count) == 0 else { return "errno \(code)" }
        let text = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return "\(String(decoding: text, as: UTF8.self)) (errno \(code))"
    }
}
