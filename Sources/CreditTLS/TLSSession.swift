// TLSSession: one TLS connection over a socket the caller owns, driven without blocking.

import CLibSSL
import Glibc

/// What one step of a non-blocking TLS call achieved.
public enum TLSOutcome: Equatable, Sendable {
    /// The call made progress: for reads and writes, this many plaintext bytes (never 0); for the
    /// handshake, 0 and the session is established.
    case done(Int)
    /// Call again once the socket is readable.
    case wantRead
    /// Call again once the socket is writable.
    case wantWrite
    /// The peer closed the TLS stream (close_notify, or a TCP close: both are end of input).
    case closed
    /// A fatal error (bad handshake, garbage, reset): close the socket. The text is for the log.
    case failed(String)
}

/// A TLS session on one socket. The socket stays the caller's (it closes it); the session only
/// reads and writes through it. Each call returns at once with a `TLSOutcome`; the caller waits
/// for the readiness it names (a read may need the socket writable, and a write readable).
public final class TLSSession {
    /// Which end of the handshake this session plays.
    enum Role {
        case server
        case client(serverName: String)
    }

    private let ssl: OpaquePointer
    /// True once the handshake has completed.
    public private(set) var isEstablished = false
    /// True after a fatal error, when OpenSSL forbids sending close_notify.
    private var isBroken = false
    private var closeNotifySent = false
    /// Client sessions block SIGPIPE around OpenSSL calls (see `SIGPIPEGuard`).
    private let guardsSIGPIPE: Bool

    init(context: OpaquePointer, fd: Int32, role: Role) throws(TLSError) {
        OpenSSLError.clear()
        guard let ssl = SSL_new(context) else { throw TLSError.fromOpenSSL("SSL_new failed") }
        self.ssl = ssl
        if case .client = role { guardsSIGPIPE = true } else { guardsSIGPIPE = false }
        guard SSL_set_fd(ssl, fd) == 1 else { throw TLSError.fromOpenSSL("SSL_set_fd failed") }
        switch role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client(let serverName):
            try expectServerName(serverName)
            SSL_set_connect_state(ssl)
        }
    }

    deinit { SSL_free(ssl) }

    /// Advances the handshake. `.done(0)` once established (and on every later call).
    public func handshake() -> TLSOutcome {
        guard !isEstablished else { return .done(0) }
        OpenSSLError.clear()
        let result = call { SSL_do_handshake(ssl) }
        if result == 1 {
            isEstablished = true
            return .done(0)
        }
        return outcome(of: result)
    }

    /// Reads decrypted bytes into `buffer` (handshaking first if needed).
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSOutcome {
        precondition(buffer.count > 0, "read into an empty buffer")
        OpenSSLError.clear()
        let count = call { SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count)) }
        if count > 0 { isEstablished = true; return .done(Int(count)) }
        return outcome(of: count)
    }

    /// Encrypts and sends up to all of `bytes` (at least one record's worth when it progresses).
    /// After `.wantRead`/`.wantWrite`, call again with the same bytes (more may follow them).
    public func write(_ bytes: UnsafeRawBufferPointer) -> TLSOutcome {
        precondition(bytes.count > 0, "write of nothing")
        OpenSSLError.clear()
        let count = call { SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count)) }
        if count > 0 { return .done(Int(count)) }
        return outcome(of: count)
    }

    /// True when decrypted bytes wait inside OpenSSL: the socket will not report them as
    /// readable, so the caller must read again without waiting. (Not `SSL_has_pending`: that is
    /// also true for a partial record, which cannot be read until the rest arrives, and a loop
    /// polling it would spin.)
    public var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    /// Sends close_notify once, without waiting for the peer's (a best effort before closing:
    /// the peer learns the stream ended cleanly, not by truncation).
    public func sendCloseNotify() {
        guard !isBroken, !closeNotifySent, isEstablished else { return }
        closeNotifySent = true
        OpenSSLError.clear()
        _ = call { SSL_shutdown(ssl) }
        OpenSSLError.clear()
    }

    /// The negotiated version, such as `TLSv1.3`.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The peer certificate's subject (one line), or nil if it sent none.
    public var peerSubject: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        guard let name = X509_NAME_oneline(X509_get_subject_name(certificate), nil, 0) else { return nil }
        defer { CRYPTO_free(name, #fileID, #line) }
        return String(cString: name)
    }

    /// Runs one OpenSSL call that may write to the socket.
    private func call(_ body: () -> Int32) -> Int32 {
        guardsSIGPIPE ? SIGPIPEGuard.run(body) : body()
    }

    /// Turns a failed call's result into an outcome; fatal errors mark the session broken.
    private func outcome(of result: Int32) -> TLSOutcome {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            isBroken = true
            let systemCode = errno
            let reason = OpenSSLError.take()
            if !reason.isEmpty { return .failed(reason) }
            return systemCode == 0 ? .closed : .failed(systemErrorText(systemCode))
        default:
            isBroken = true
            let reason = OpenSSLError.take()
            return .failed(reason.isEmpty ? "TLS error \(code)" : reason)
        }
    }

    /// Makes the handshake check that the server's certificate names `serverName`, and sends it
    /// as SNI when it is a host name.
    private func expectServerName(_ serverName: String) throws(TLSError) {
        if Self.isAddressLiteral(serverName) {
            guard cssl_set1_ip(ssl, serverName) == 1 else { throw TLSError.fromOpenSSL("bad address \(serverName)") }
        } else {
            guard SSL_set1_host(ssl, serverName) == 1, cssl_set_tlsext_host_name(ssl, serverName) == 1 else {
                throw TLSError.fromOpenSSL("bad host name \(serverName)")
            }
        }
    }

    private static func isAddressLiteral(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
