// Listeners: the plaintext and TLS listening sockets, opened from the config.

import CEpoll
import CreditTLS
import Glibc

/// The daemon's listening sockets. Either may be absent (fd -1), never both: `listen = off`
/// leaves only TLS; no `listen_tls` leaves only plaintext.
struct Listeners {
    /// Pending connections each listening socket queues before the loop accepts them.
    static let backlog: Int32 = 1024

    /// The plaintext listener, or -1.
    var plainFD: Int32 = -1
    /// The TLS listener, or -1.
    var tlsFD: Int32 = -1
    /// The TLS context for connections accepted on `tlsFD`.
    var tlsContext: TLSServerContext?
    /// What the `listening` log line reports: `addr=` and/or `tls_addr=`, with the bound ports.
    var logFields: [(String, String)] = []

    /// Loads the TLS certificate and key (if a TLS listener is configured), so that a bad file
    /// stops start-up before recovery; logs a warning for a key others can read.
    static func loadTLSContext(_ config: ServerConfig) throws -> TLSServerContext? {
        try config.validateListeners()
        guard config.tls.listen != nil, let certificate = config.tls.certificateFile,
              let key = config.tls.privateKeyFile
        else { return nil }
        if let warning = try TLSKeyFile.checkPrivateKey(key) { Log.write(.warn, warning) }
        return try TLSServerContext(certificateChainFile: certificate, privateKeyFile: key,
                                    clientCAFile: config.tls.clientCAFile,
                                    clientCertificates: config.tls.clientCertificates)
    }

    /// Binds every configured listener. On failure closes what it opened and throws.
    static func open(_ config: ServerConfig, tlsContext: TLSServerContext?) throws -> Listeners {
        var listeners = Listeners()
        do {
            if config.plainListenEnabled {
                let (fd, port) = try bind(config.listenHost, config.listenPort)
                listeners.plainFD = fd
                listeners.logFields.append(("addr", "\(config.listenHost):\(port)"))
            }
            if let address = config.tls.listen, let tlsContext {
                let (fd, port) = try bind(address.host, address.port)
                listeners.tlsFD = fd
                listeners.tlsContext = tlsContext
                listeners.logFields.append(("tls_addr", "\(address.host):\(port)"))
            }
        } catch {
            listeners.closeAll()
            throw error
        }
        return listeners
    }

    /// Closes both listening sockets (at a graceful stop: nothing new is accepted).
    mutating func closeAll() {
        for fd in [plainFD, tlsFD] where fd >= 0 { close(fd) }
        plainFD = -1
        tlsFD = -1
    }

    private static func bind(_ host: String, _ port: Int) throws -> (fd: Int32, port: Int) {
        var boundPort: Int32 = 0
        let fd = cepoll_listen(host, Int32(port), backlog, &boundPort)
        guard fd >= 0 else { throw ServerError("cannot listen on \(host):\(port): \(errnoText())") }
        return (fd, Int(boundPort))
    }
}
