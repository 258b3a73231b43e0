// TLSClientContext: how a client (creditctl, CreditClient, tests) checks the server and names itself.

import CLibSSL

/// One `SSL_CTX` for connecting to creditd's TLS port: the server's certificate is verified
/// against a CA file (or the system's trust store), and a client certificate is offered if given.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer

    /// `caFile` nil trusts the system's CA store. `certificateFile`/`privateKeyFile` go together
    /// (a till's certificate). `maximumVersion` lets tests play an old client; leave it nil.
    public init(caFile: String?, certificateFile: String? = nil, privateKeyFile: String? = nil,
                maximumVersion: TLSProtocolVersion? = nil) throws(TLSError) {
        OpenSSLError.clear()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromOpenSSL("SSL_CTX_new failed") }
        self.context = context
        cssl_ctx_set_client_options(context)
        cssl_ctx_set_nonblocking_modes(context)
        if let maximumVersion {
            // Lowering the floor too, so that a 1.1 client really offers 1.1 (OpenSSL's own
            // default floor may be higher); the server's floor is what is being tested.
            _ = cssl_ctx_set_min_proto_version(context, maximumVersion.openSSLValue)
            _ = cssl_ctx_set_max_proto_version(context, maximumVersion.openSSLValue)
        } else {
            _ = cssl_ctx_set_min_proto_version(context, TLSProtocolVersion.tls1_2.openSSLValue)
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        try loadTrust(caFile)
        try loadIdentity(certificateFile, privateKeyFile)
    }

    deinit { SSL_CTX_free(context) }

    /// A client session on a connected socket, verifying that the certificate names `serverName`
    /// (a host name or an IP literal).
    public func makeSession(fd: Int32, serverName: String) throws(TLSError) -> TLSSession {
        try TLSSession(context: context, fd: fd, role: .client(serverName: serverName))
    }

    private func loadTrust(_ caFile: String?) throws(TLSError) {
        if let caFile {
            try TLSKeyFile.requireReadable(caFile, role: "CA file")
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSError.fromOpenSSL("cannot load CA file \(caFile)")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw TLSError.fromOpenSSL("cannot load the system CA store")
        }
    }

    private func loadIdentity(_ certificateFile: String?, _ privateKeyFile: String?) throws(TLSError) {
        switch (certificateFile, privateKeyFile) {
        case (nil, nil): return
        case let (certificate?, key?):
            try TLSKeyFile.requireReadable(certificate, role: "certificate")
            try TLSKeyFile.requireReadable(key, role: "key")
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw TLSError.fromOpenSSL("cannot load certificate \(certificate)")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1,
                  SSL_CTX_check_private_key(context) == 1
            else { throw TLSError.fromOpenSSL("cannot use key \(key) with certificate \(certificate)") }
        default:
            throw TLSError("a client certificate needs both the certificate and its key")
        }
    }
}
