// ClientCertificatePolicy: whether the TLS listener asks tills for a certificate.

/// What the TLS listener does about client certificates (`tls_client_cert` in the config).
public enum ClientCertificatePolicy: String, Sendable, CaseIterable {
    /// Never ask: clients are identified by AUTH alone.
    case none
    /// Ask; a client without one is still served, one with a certificate the CA did not sign is refused.
    case optional
    /// Ask and refuse the handshake without a certificate signed by the configured CA.
    case require
}
