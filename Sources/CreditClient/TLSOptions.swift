// TLSOptions: how a CreditConnection reaches creditd's TLS port — which CA to trust, which till certificate to show.

import CreditTLS

/// TLS settings for a `CreditConnection`. The server's certificate must chain to `caFile` (the
/// system's trust store when nil) and name the host connected to (a DNS name or an IP address
/// in its subjectAltName). Only TLS 1.2 and 1.3 are offered.
///
/// ```swift
/// let tls = TLSOptions(caFile: "Config/tls/dev-ca.pem")
/// let connection = try CreditConnection(host: "127.0.0.1", port: 7879, tls: tls)
/// ```
public struct TLSOptions: Sendable, Equatable {
    /// PEM file of CA certificates to trust, or nil for the system's trust store.
    public var caFile: String?
    /// PEM file of this client's (a till's) certificate, when the server asks for one.
    public var certificateFile: String?
    /// The private key of `certificateFile`.
    public var privateKeyFile: String?

    /// Options trusting `caFile` (nil: the system store), with an optional client certificate.
    public init(caFile: String? = nil, certificateFile: String? = nil, privateKeyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }

    /// The OpenSSL context these options describe. Throws `tlsFailed` for unreadable files.
    func makeContext() throws(CreditClientError) -> TLSClientContext {
        do {
            return try TLSClientContext(caFile: caFile, certificateFile: certificateFile, privateKeyFile: privateKeyFile)
        } catch {
            throw .tlsFailed(error.description)
        }
    }
}
