// Proves what is particular to the TLS port: only TLS 1.2+ is accepted, client certificates are
// enforced as configured, garbage and stalled handshakes are closed without disturbing anyone
// else, large and deeply pipelined replies flow when the socket would block, the plaintext
// listener can be turned off, and bad certificate or key settings stop start-up with a clear error.

@testable import CreditTestSupport
import CreditTLS
import Foundation
import Glibc
import Testing

/// The config lines that turn on client certificates, checked against the development CA.
private func clientCertificateConfig(_ policy: String) -> String {
    "tls_client_cert = \(policy)\ntls_client_ca = \(Daemon.devCertificate("dev-ca.pem"))"
}

/// A client context with the development till certificate (or another certificate and key).
private func tillContext(certificate: String = "dev-till.pem", key: String = "dev-till.key") throws -> TLSClientContext {
    try TLSClientContext(caFile: Daemon.devCertificate("dev-ca.pem"), certificateFile: Daemon.devCertificate(certificate),
                         privateKeyFile: Daemon.devCertificate(key))
}

/// True if a PING over a new TLS connection made with `context` is answered: false when the
/// handshake or the first exchange fails (TLS 1.3 reports a refused client certificate only
/// after the client's side of the handshake has finished).
private func pingSucceeds(_ daemon: Daemon, _ context: TLSClientContext) -> Bool {
    guard let client = try? WireClient(port: daemon.tlsPort, tls: context) else { return false }
    return (try? client.request("PING")) == ["OK"]
}

/// Waits up to `seconds` for `text` to appear in the daemon's log.
private func logEventually(_ daemon: Daemon, contains text: String, seconds: Double = 5) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if daemon.log.contains(text) { return true }
        usleep(20_000)
    }
    return daemon.log.contains(text)
}

// MARK: Versions and certificates

@Test func tls12And13AreAcceptedAndTls11IsRefused() throws {
    let daemon = try Daemon()
    for version in [TLSProtocolVersion.tls1_2, .tls1_3] {
        let context = try TLSClientContext(caFile: Daemon.devCertificate("dev-ca.pem"), maximumVersion: version)
        #expect(pingSucceeds(daemon, context), "\(version)")
    }
    let old = try TLSClientContext(caFile: Daemon.devCertificate("dev-ca.pem"), maximumVersion: .tls1_1)
    #expect(throws: TestError.self) { try WireClient(port: daemon.tlsPort, tls: old) }
    #expect(logEventually(daemon, contains: "msg=\"TLS handshake failed\""), "\(daemon.log)")
    #expect(try daemon.connect(as: "dev-admin", over: .tls).request("PING") == ["OK"])
}

@Test func aClientThatDistrustsTheCertificateCannotConnect() throws {
    let daemon = try Daemon()
    // The till certificate is no CA: trusting only it, the client rejects the server's chain.
    let wrongTrust = try TLSClientContext(caFile: Daemon.devCertificate("dev-till.pem"))
    #expect(throws: TestError.self) { try WireClient(port: daemon.tlsPort, tls: wrongTrust) }
    #expect(try daemon.connect(.tls).request("PING") == ["OK"])
}

@Test func requiredClientCertificatesRefuseClientsWithoutOne() throws {
    let daemon = try Daemon(extraConfig: clientCertificateConfig("require"))
    #expect(!pingSucceeds(daemon, Daemon.tlsClient), "no certificate")
    #expect(logEventually(daemon, contains: "TLS handshake failed"))
    // A certificate from the dev CA but for servers only (its purpose is serverAuth) is refused too.
    #expect(!pingSucceeds(daemon, try tillContext(certificate: "dev-server.pem", key: "dev-server.key")))
    let till = try WireClient(port: daemon.tlsPort, tls: try tillContext())
    #expect(till.tls?.peerSubject?.contains("CN=localhost") == true)
    #expect(try till.request("AUTH key=dev-pos secret=dev-pos-secret") == ["OK role=pos"])
    #expect(try till.request("PING") == ["OK"])
}

@Test func optionalClientCertificatesAcceptClientsWithoutOne() throws {
    let daemon = try Daemon(extraConfig: clientCertificateConfig("optional"))
    #expect(pingSucceeds(daemon, Daemon.tlsClient), "no certificate is fine")
    #expect(pingSucceeds(daemon, try tillContext()), "a till certificate is fine")
    #expect(!pingSucceeds(daemon, try tillContext(certificate: "dev-server.pem", key: "dev-server.key")),
            "a certificate for the wrong purpose is not")
}

// MARK: Hostile and stalled clients

@Test func garbageInsteadOfAClientHelloIsClosedAndOthersAreServed() throws {
    let daemon = try Daemon()
    let steady = try daemon.connect(as: "dev-admin", over: .tls)
    for junk in [Array("PING\n".utf8), [UInt8](repeating: 0xFF, count: 5000), Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                 [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]] {
        let raw = try WireClient(port: daemon.tlsPort)
        try? raw.send(junk)
        raw.setReadTimeout(milliseconds: 5000)
        #expect(try raw.isClosedByServer(), "\(junk.prefix(8))")
        #expect(try steady.request("PING") == ["OK"])
    }
    #expect(logEventually(daemon, contains: "TLS handshake failed"))
    // A plaintext client on the TLS port and a TLS client on the plaintext port both fail.
    #expect(throws: TestError.self) { try WireClient(port: daemon.port, tls: Daemon.tlsClient) }
    let stats = try steady.ok("STATS")
    #expect(stats["connections"] == "1")
    #expect(stats["tls_handshakes"] == "1", "only the steady client's (the TLS client on the plaintext port never reached one)")
    #expect(stats["tls_handshake_failures"] == "4")
}

@Test func aStalledHandshakeIsClosedAfterTheHandshakeTimeout() throws {
    let daemon = try Daemon(extraConfig: "tls_handshake_timeout = 1s")
    let silent = try WireClient(port: daemon.tlsPort)
    // Half a ClientHello: a record header promising 512 bytes, and only 4 of them.
    let half = try WireClient(port: daemon.tlsPort)
    try half.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC])
    let started = Date()
    for client in [silent, half] {
        client.setReadTimeout(milliseconds: 8000)
        #expect(try client.isClosedByServer())
    }
    #expect(Date().timeIntervalSince(started) < 6)
    #expect(logEventually(daemon, contains: "handshake not finished in time"))
    // An established TLS connection is not subject to it.
    let admin = try daemon.connect(as: "dev-admin", over: .tls)
    usleep(2_500_000)
    #expect(try admin.request("PING") == ["OK"])
    #expect(try admin.ok("STATS")["tls_handshake_failures"] == "2")
}

@Test func bothPortsCountTowardTheSameConnectionCaps() throws {
    let daemon = try Daemon(extraConfig: "max_connections_per_address = 2")
    let plain = try daemon.connect(as: "dev-admin")
    let tls = try daemon.connect(as: "dev-admin", over: .tls)
    // A third connection from 127.0.0.1 is over the cap on either port: the plaintext one hears
    // ERR BUSY, the TLS one is closed before its handshake.
    let third = try daemon.connect()
    #expect(try third.readLine() == "ERR BUSY too many connections")
    #expect(throws: TestError.self) { try daemon.connect(.tls).request("PING") }
    #expect(try tls.ok("STATS")["connections_refused"] == "2")
    #expect(try plain.request("PING") == ["OK"])
}

// MARK: Flow control

@Test func largePipelinedRepliesOverTLSArriveInOrderWhenTheSocketWouldBlock() throws {
    let daemon = try Daemon()
    let client = try daemon.connect(as: "dev-admin", over: .tls)
    _ = try client.issueGift(amount: "100.00", ref: "issue-1")
    var setup = ""
    for pair in 0..<150 { setup += "HOLD credit=cr_1 amount=0.01 currency=AUD ref=f\(pair)\nVOID hold=hd_\(pair + 1) ref=v\(pair)\n" }
    try client.send(setup)
    #expect(try client.readReplies(300).allSatisfy { $0.count == 1 && $0[0].hasPrefix("OK hold=") })

    // 2000 requests in one write, every 20th a 301-line HISTORY (~3 MB of replies, more than the
    // output bound), read only after a pause: the daemon's TLS writes must stop on WANT_WRITE,
    // reading must stop at the bounds, and both must resume in order.
    var flood = ""
    for index in 0..<2000 { flood += index % 20 == 0 ? "#f\(index) HISTORY credit=cr_1 limit=1000\n" : "#f\(index) PING\n" }
    try client.send(flood)
    usleep(500_000)
    for index in 0..<2000 {
        let reply = try client.readReply()
        if index % 20 == 0 {
            #expect(reply.count == 302 && reply.last == "#f\(index) OK credit=cr_1 currency=AUD count=301", "reply \(index): \(reply.count) lines")
        } else {
            #expect(reply == ["#f\(index) OK"], "reply \(index): \(reply)")
        }
    }
    #expect(try client.request("#after PING") == ["#after OK"])
    #expect(daemon.stop() == 0)
}

@Test func writingToAClosedTLSConnectionFailsWithoutSIGPIPE() throws {
    let daemon = try Daemon()
    let client = try daemon.connect(as: "dev-pos", over: .tls)
    #expect(try client.request("PING") == ["OK"])
    daemon.kill9()  // no close_notify: the client's TLS session still thinks the stream is open
    // The first write draws a reset; a later one fails with EPIPE, whose SIGPIPE the client's
    // TLS session keeps from reaching the process. (Checked by hand with SIGPIPE at its default
    // disposition: an unguarded session killed the test process here. The test does not reset
    // the disposition itself, since other tests in this process rely on SIGPIPE being ignored.)
    #expect(throws: TestError.self) {
        for _ in 0..<20 {
            try client.send([UInt8](repeating: 0x41, count: 64 * 1024))
            usleep(20_000)
        }
    }
}

// MARK: Listeners and start-up

/// A loopback port that was free a moment ago.
private func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw TestError("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

@Test func listenOffLeavesOnlyTheTLSPort() throws {
    let port = try freePort()
    let daemon = try Daemon(extraConfig: "listen = 127.0.0.1:\(port)\nlisten = off")
    #expect(daemon.port == 0 && daemon.tlsPort != 0)
    #expect(throws: TestError.self) { try WireClient(port: port) }
    #expect(try daemon.connect(as: "dev-admin", over: .tls).ok("STATS")["connections"] == "1")
}

@Test func badTLSSettingsStopStartUpWithAClearError() throws {
    let directory = NSTemporaryDirectory() + "creditd-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let writableKey = directory + "/writable.key"
    try FileManager.default.copyItem(atPath: Daemon.devCertificate("dev-server.key"), toPath: writableKey)
    chmod(writableKey, 0o666)
    let cases: [(config: String, message: String)] = [
        ("tls_cert = \(directory)/missing.pem", "cannot read tls_cert \(directory)/missing.pem: No such file or directory"),
        ("tls_key = \(directory)/missing.key", "cannot read tls_key \(directory)/missing.key"),
        ("tls_key = \(Daemon.devCertificate("dev-till.key"))", "does not match tls_cert"),
        ("tls_cert = \(Daemon.devCertificate("dev-ca.pem"))\ntls_key = \(Daemon.devCertificate("dev-ca.pem"))", "cannot load tls_key"),
        ("tls_key = \(writableKey)", "is writable by group or others"),
        ("listen = off\nlisten_tls = off", "no listener: listen = off needs listen_tls"),
        ("tls_client_cert = require", "tls_client_cert = require needs tls_client_ca"),
        ("tls_client_cert = sometimes", "tls_client_cert is none, optional or require"),
    ]
    for (config, message) in cases {
        let daemon = try Daemon(extraConfig: config, start: false)
        let (status, output) = try daemon.runToExit()
        #expect(status == 1 && output.contains(message), "\(config) → \(status): \(output)")
        #expect(!output.contains("msg=listening"))
    }
}

@Test func aKeyOthersCanReadStartsWithAWarning() throws {
    let daemon = try Daemon(start: false)
    let key = daemon.directory + "/readable.key"
    try FileManager.default.copyItem(atPath: Daemon.devCertificate("dev-server.key"), toPath: key)
    chmod(key, 0o644)
    try ("\ntls_key = " + key + "\n").appendTo(daemon.configPath)
    try daemon.start()
    #expect(daemon.log.contains("is readable by others"))
    #expect(try daemon.connect(.tls).request("PING") == ["OK"])
}

extension String {
    /// Appends this text to the file at `path`.
    func appendTo(_ path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}
