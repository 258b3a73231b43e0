// Every way a CreditClient call can fail, each with a message fit for an operator.

/// A failure of a `CreditConnection` call or of building a `Request`.
///
/// Only `.server` and `.invalidRequest` leave a connection usable: after any other error the
/// connection is closed, because the client can no longer tell which reply belongs to which
/// request. (The server itself closes after `ERR BUSY` and after the 5th `ERR AUTH_FAILED`.) A mutating request whose reply was lost may or may not have taken effect; retry it
/// on a new connection with the same `ref=` (PROTOCOL.md §7).
public enum CreditClientError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The host could not be resolved or no address of it accepted a TCP connection.
    case cannotConnect(host: String, port: Int, reason: String)
    /// The server sent nothing (or accepted nothing) for `seconds` while the client waited.
    case timedOut(seconds: Int)
    /// The connection is closed: the server closed it, or `close()` was called, or an earlier
    /// error closed it.
    case connectionClosed(String)
    /// A socket call failed (for example a reset connection).
    case socketFailed(String)
    /// TLS could not be set up or failed: an unreadable CA or certificate file, a server
    /// certificate that does not verify, a refused handshake, or a broken TLS stream.
    case tlsFailed(String)
    /// The server sent something the protocol does not allow: a malformed line, a tag that does
    /// not match the request's, or a reply without a field it must have.
    case protocolViolation(line: String, reason: String)
    /// The request cannot be written as a valid protocol line; nothing was sent.
    case invalidRequest(String)
    /// The server answered `ERR <code> <message>`. Act on `code`; the message may change.
    case server(code: String, message: String)

    /// One line for a log or a terminal.
    public var description: String {
        switch self {
        case .cannotConnect(let host, let port, let reason):
            let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            return "cannot connect to \(address): \(reason)"
        case .timedOut(let seconds):
            return "timed out: no reply from creditd within \(seconds) s"
        case .connectionClosed(let why):
            return "connection closed: \(why)"
        case .socketFailed(let why):
            return "socket error: \(why)"
        case .tlsFailed(let why):
            return "TLS error: \(why)"
        case .protocolViolation(let line, let reason):
            return "protocol violation: \(reason) in line \"\(line)\""
        case .invalidRequest(let why):
            return "invalid request: \(why)"
        case .server(let code, let message):
            return message.isEmpty ? "ERR \(code)" : "ERR \(code) \(message)"
        }
    }

    /// True when the error came from the transport or the peer's framing rather than from a
    /// well-formed `ERR` reply or a request the client refused to send.
    public var isConnectionFailure: Bool {
        switch self {
        case .server, .invalidRequest: return false
        default: return true
        }
    }
}
