// creditctl's exit statuses and its two output streams.

import Glibc

/// What creditctl's exit status tells a script.
enum ExitStatus: Int32 {
    /// The command ran and the server answered OK.
    case ok = 0
    /// The server answered `ERR` (the code and message are on stderr).
    case serverError = 1
    /// The command line was wrong; nothing was sent.
    case usage = 2
    /// creditd could not be reached, the connection failed, or it broke the protocol.
    case connectionFailure = 3
}

/// Writes to stdout and stderr without Foundation. stdout is buffered by the C library and
/// flushed on exit and before each interactive prompt.
enum Console {
    /// Writes text followed by a newline to stdout.
    static func out(_ text: String) {
        print(text)
    }

    /// Writes `creditctl: <text>` and a newline to stderr, unbuffered.
    static func error(_ text: String) {
        fflush(nil)  // keep stdout's earlier lines ahead of the error on a shared terminal
        let bytes = Array("creditctl: \(text)\n".utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// Writes the prompt without a newline and flushes it.
    static func prompt(_ text: String) {
        print(text, terminator: "")
        fflush(nil)
    }
}

/// The environment variables creditctl reads.
struct Environment {
    /// `CREDITD_KEY`: the client key id when `--key` is not given.
    var key: String?
    /// `CREDITD_SECRET`: the key's secret when `--secret` is not given (keeps it out of `ps`).
    var secret: String?

    /// Reads the process environment.
    static func current() -> Environment {
        Environment(key: variable("CREDITD_KEY"), secret: variable("CREDITD_SECRET"))
    }

    /// A non-empty environment variable, or nil.
    private static func variable(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(decoding: UnsafeRawBufferPointer(start: value, count: strlen(value)), as: UTF8.self)
        return text.isEmpty ? nil : text
    }
}
