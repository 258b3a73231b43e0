// TLSServerContext: the listener's certificate, key, versions and client-certificate policy.

import CLibSSL

/// One `SSL_CTX` for the TLS listener: the certificate chain and its key, TLS 1.2 as the lowest
/// version, renegotiation off, and (optionally) client certificates checked against a CA file.
/// Built once at start-up; every accepted connection gets a `TLSSession` from it.
public final class TLSServerContext: @unchecked Sendable {
    /// Session id context, needed for session resumption once client certificates are verified.
    private static let sessionIDContext: [UInt8] = Array("creditd".utf8)

    let context: OpaquePointer
    /// What the context asks of clients.
    public let clientCertificates: ClientCertificatePolicy

    /// Loads and checks everything; throws a message naming the file and OpenSSL's reason on a
    /// missing or unreadable file, a malformed PEM, or a key that does not match the certificate.
    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String?,
                clientCertificates: ClientCertificatePolicy) throws(TLSError) {
        try TLSKeyFile.requireReadable(certificateChainFile, role: "tls_cert")
        try TLSKeyFile.requireReadable(privateKeyFile, role: "tls_key")
        OpenSSLError.clear()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromOpenSSL("SSL_CTX_new failed") }
        self.context = context
        self.clientCertificates = clientCertificates
        guard cssl_ctx_set_min_proto_version(context, TLSProtocolVersion.tls1_2.openSSLValue) == 1 else {
            throw TLSError.fromOpenSSL("cannot set the lowest TLS version")
        }
        cssl_ctx_set_server_options(context)
        cssl_ctx_set_nonblocking_modes(context)
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainFile) == 1 else {
            throw TLSError.fromOpenSSL("cannot load tls_cert \(certificateChainFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL checks the pair while loading; say so plainly rather than "key values mismatch".
            let reason = OpenSSLError.take()
            if reason.hasSuffix("key values mismatch") {
                throw TLSError("tls_key \(privateKeyFile) does not match tls_cert \(certificateChainFile)")
            }
            throw TLSError("cannot load tls_key \(privateKeyFile): \(reason)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.fromOpenSSL("tls_key \(privateKeyFile) does not match tls_cert \(certificateChainFile)")
        }
        try configureClientCertificates(clientCAFile)
    }

    deinit { SSL_CTX_free(context) }

    /// A server session for an accepted, non-blocking socket.
    public func makeSession(fd: Int32) throws(TLSError) -> TLSSession {
        try TLSSession(context: context, fd: fd, role: .server)
    }

    private func configureClientCertificates(_ caFile: String?) throws(TLSError) {
        guard clientCertificates != .none else { return }
        guard let caFile else { throw TLSError("tls_client_cert = \(clientCertificates.rawValue) needs tls_client_ca") }
        try TLSKeyFile.requireReadable(caFile, role: "tls_client_ca")
        guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
            throw TLSError.fromOpenSSL("cannot load tls_client_ca \(caFile)")
        }
        guard let names = SSL_load_client_CA_file(caFile) else {
            throw TLSError.fromOpenSSL("no CA certificates in tls_client_ca \(caFile)")
        }
        SSL_CTX_set_client_CA_list(context, names)
        let mode = SSL_VERIFY_PEER | (clientCertificates == .require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0)
        SSL_CTX_set_verify(context, mode, nil)
        _ = Self.sessionIDContext.withUnsafeBufferPointer {
            SSL_CTX_set_session_id_context(context, $0.baseAddress, UInt32($0.count))
        }
    }
}
