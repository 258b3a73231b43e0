// TLSSettings: the TLS listener's part of the config — address, certificate, key, client certificates.

import CreditCore
import CreditTLS

/// The `listen_tls` and `tls_*` keys of the config file (documented in `Config/creditd.conf`).
public struct TLSSettings: Sendable {
    /// Where the TLS listener binds, or nil for no TLS listener.
    public var listen: (host: String, port: Int)?
    /// PEM file with the server certificate, then any intermediates.
    public var certificateFile: String?
    /// PEM file with the certificate's private key.
    public var privateKeyFile: String?
    /// PEM file of CA certificates that sign till (client) certificates.
    public var clientCAFile: String?
    /// Whether tills must present a certificate signed by `clientCAFile`.
    public var clientCertificates = ClientCertificatePolicy.none
    /// A TLS connection whose handshake is not done this long after accept is closed: a client
    /// that connects and sends nothing, or half a ClientHello, must not hold a slot for long.
    public var handshakeTimeout = Seconds(10)

    /// The default: no TLS listener.
    public init() {}

    /// Sets one `listen_tls` or `tls_*` key; false if `key` is not one of them.
    mutating func set(_ key: String, _ value: String, resolved: (String) -> String, place: String) throws(ConfigError) -> Bool {
        switch key {
        case "listen_tls":
            listen = value == "off" ? nil : try ListenAddress.parse(value, key: key, place: place)
        case "tls_cert": certificateFile = resolved(value)
        case "tls_key": privateKeyFile = resolved(value)
        case "tls_client_ca": clientCAFile = resolved(value)
        case "tls_client_cert":
            guard let policy = ClientCertificatePolicy(rawValue: value) else {
                throw ConfigError("\(place): tls_client_cert is none, optional or require")
            }
            clientCertificates = policy
        case "tls_handshake_timeout":
            guard let seconds = Seconds(ttl: value), seconds.value >= 1 else {
                throw ConfigError("\(place): tls_handshake_timeout must be a duration like 10s")
            }
            handshakeTimeout = seconds
        default: return false
        }
        return true
    }

    /// Checks that the keys present fit together (the files themselves are checked when the
    /// context loads them, at start-up).
    func validate() throws(ConfigError) {
        guard listen != nil else { return }
        guard certificateFile != nil, privateKeyFile != nil else {
            throw ConfigError("listen_tls needs tls_cert and tls_key")
        }
        if clientCertificates != .none && clientCAFile == nil {
            throw ConfigError("tls_client_cert = \(clientCertificates.rawValue) needs tls_client_ca")
        }
    }
}

/// Parsing of `host:port` listen addresses.
enum ListenAddress {
    /// `host:port`, `[::1]:7878` for IPv6; port 0 picks a free one.
    static func parse(_ value: String, key: String, place: String) throws(ConfigError) -> (host: String, port: Int) {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]),
              (0...65_535).contains(port)
        else { throw ConfigError("\(place): \(key) must be host:port") }
        var host = String(value[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ConfigError("\(place): \(key) must be host:port") }
        return (host, port)
    }
}
