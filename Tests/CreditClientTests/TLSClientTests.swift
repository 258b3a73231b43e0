// Proves that CreditConnection and creditctl work over the TLS port: the server certificate is
// verified against the given CA and the host name or address, deep pipelines flow, a till
// certificate is presented when the daemon requires one, and TLS failures are reported as such.

@testable import CreditTestSupport
import CreditClient
import Foundation
import Testing

/// TLS options trusting the development CA, optionally with the development till certificate.
private func devTLS(withTillCertificate: Bool = false) -> TLSOptions {
    TLSOptions(caFile: Daemon.devCertificate("dev-ca.pem"),
               certificateFile: withTillCertificate ? Daemon.devCertificate("dev-till.pem") : nil,
               privateKeyFile: withTillCertificate ? Daemon.devCertificate("dev-till.key") : nil)
}

/// The creditctl options that reach a daemon's TLS port with the development CA.
private func tlsArguments(_ daemon: Daemon) -> [String] {
    ["--port", String(daemon.tlsPort), "--tls", "--ca", Daemon.devCertificate("dev-ca.pem")]
}

private let adminEnvironment = ["CREDITD_KEY": "dev-admin", "CREDITD_SECRET": "dev-admin-secret"]

@Suite struct TLSClientTests {
    @Test func connectionOverTLSIssuesAndPipelines() throws {
        let daemon = try Daemon()
        let connection = try CreditConnection(host: "127.0.0.1", port: daemon.tlsPort, tls: devTLS())
        defer { connection.close() }
        #expect(try connection.authenticate(key: "dev-admin", secret: "dev-admin-secret") == "admin")
        let issued = try connection.send(Request("ISSUE", ["type": "gift", "amount": "50", "currency": "AUD", "ref": "t-1"])).require()
        let credit = try #require(issued["credit"])
        // Thousands of requests in one pipeline: more than the server's bounds, through TLS.
        let requests = (0..<3000).map { index in
            index % 10 == 0 ? Request("HISTORY", ["credit": credit], tag: "h\(index)") : Request("PING", tag: "p\(index)")
        }
        let replies = try connection.pipeline(requests)
        #expect(replies.count == 3000)
        #expect(replies.allSatisfy { $0.isOK })
        #expect(replies.map { $0.tag } == requests.map { $0.tag })
    }

    @Test func theServerCertificateMustVerify() throws {
        let daemon = try Daemon()
        // localhost is in the certificate's subjectAltName too.
        let byName = try CreditConnection(host: "localhost", port: daemon.tlsPort, tls: devTLS())
        #expect(try byName.send(Request("PING")).isOK)
        // The system trust store does not know the development CA.
        #expect {
            try CreditConnection(host: "127.0.0.1", port: daemon.tlsPort, tls: TLSOptions())
        } throws: { error in
            guard case .tlsFailed(let reason) = error as? CreditClientError else { return false }
            return reason.contains("certificate verify failed")
        }
        // An unreadable CA file is reported before connecting.
        #expect(throws: CreditClientError.tlsFailed("cannot read CA file /nonexistent.pem: No such file or directory")) {
            try CreditConnection(host: "127.0.0.1", port: daemon.tlsPort, tls: TLSOptions(caFile: "/nonexistent.pem"))
        }
        // TLS to the plaintext port fails cleanly too.
        #expect(throws: CreditClientError.self) {
            try CreditConnection(host: "127.0.0.1", port: daemon.port, timeoutSeconds: 3, tls: devTLS()).send(Request("PING"))
        }
    }

    @Test func aRequiredTillCertificateIsPresented() throws {
        let daemon = try Daemon(extraConfig: "tls_client_cert = require\ntls_client_ca = \(Daemon.devCertificate("dev-ca.pem"))")
        let till = try CreditConnection(host: "127.0.0.1", port: daemon.tlsPort, tls: devTLS(withTillCertificate: true))
        #expect(try till.authenticate(key: "dev-pos", secret: "dev-pos-secret") == "pos")
        // Without one the daemon ends the handshake (TLS 1.3 reports it at the first exchange).
        #expect(throws: CreditClientError.self) {
            let bare = try CreditConnection(host: "127.0.0.1", port: daemon.tlsPort, tls: devTLS())
            _ = try bare.send(Request("PING"))
        }
    }

    @Test func creditctlSpeaksTLS() throws {
        let daemon = try Daemon(extraConfig: "tls_client_cert = optional\ntls_client_ca = \(Daemon.devCertificate("dev-ca.pem"))")
        let issued = try runCtl(tlsArguments(daemon) + ["issue", "type=gift", "amount=20", "currency=AUD", "--json"],
                                environment: adminEnvironment)
        #expect(issued.status == 0, "\(issued.stderr)")
        let fields = try #require(try jsonObject(issued.stdout.trimmingCharacters(in: .newlines))["fields"] as? [String: String])
        let credit = try #require(fields["credit"])
        let withCertificate = tlsArguments(daemon) + ["--cert", Daemon.devCertificate("dev-till.pem"),
                                                      "--cert-key", Daemon.devCertificate("dev-till.key")]
        let balance = try runCtl(withCertificate + ["balance", "credit=\(credit)", "--json"], environment: adminEnvironment)
        #expect(balance.status == 0, "\(balance.stderr)")
        #expect(balance.stdout.contains("\"available\":\"20.00\""), "\(balance.stdout)")
        // The interactive shell over TLS.
        let shell = try runCtl(tlsArguments(daemon), environment: adminEnvironment, input: "PING\nquit\n")
        #expect(shell.status == 0 && shell.stdout.contains("OK"), "\(shell.stdout) \(shell.stderr)")
    }

    @Test func creditctlReportsTLSFailuresAndUsage() throws {
        let daemon = try Daemon()
        let untrusted = try runCtl(["--port", String(daemon.tlsPort), "--tls", "ping"], environment: [:])
        #expect(untrusted.status == 3 && untrusted.stderr.contains("TLS error"), "\(untrusted.stderr)")
        let halfIdentity = try runCtl(tlsArguments(daemon) + ["--cert", Daemon.devCertificate("dev-till.pem"), "ping"],
                                      environment: [:])
        #expect(halfIdentity.status == 2 && halfIdentity.stderr.contains("--cert and --cert-key go together"))
        // --ca alone implies --tls.
        let implied = try runCtl(["--port", String(daemon.tlsPort), "--ca", Daemon.devCertificate("dev-ca.pem"), "ping"],
                                 environment: [:])
        #expect(implied.status == 0, "\(implied.stderr)")
    }
}
