// Proves that CreditConnection speaks the protocol with the real daemon on loopback: AUTH,
// ISSUE, BALANCE, HOLD, CAPTURE and HISTORY; ERR replies returned without breaking the
// connection; tagged pipelines of 100 and of thousands of requests (past the server's
// back-pressure limits) without deadlock; BUSY, QUIT and connect failures reported as such.

@testable import CreditTestSupport
import CreditClient
import Foundation
import Testing

@Suite struct ConnectionWireTests {
    @Test func authenticateIssueBalanceHoldCapture() throws {
        let daemon = try Daemon()
        let connection = try daemon.client(as: nil)
        defer { connection.close() }
        #expect(try connection.authenticate(key: "dev-admin", secret: "dev-admin-secret") == "admin")
        #expect(connection.role == "admin")

        let issued = try connection.send(Request("ISSUE", ["type": "gift", "amount": "50", "currency": "AUD", "ref": "w-1"])).require()
        let credit = try #require(issued["credit"])
        let card = try #require(issued["card"])
        let pin = try #require(issued["pin"])
        #expect(issued["balance"] == "50.00")
        #expect(issued.keys == ["credit", "type", "balance", "currency", "card", "pin"])

        let balance = try connection.send(Request("BALANCE", ["card": card, "pin": pin])).require()
        #expect(balance["credit"] == credit)
        #expect(balance["available"] == "50.00")

        let hold = try connection.send(Request("HOLD", ["card": card, "pin": pin, "amount": "20", "currency": "AUD", "ref": "w-2"])).require()
        let holdID = try #require(hold["hold"])
        #expect(hold["amount"] == "20.00")
        #expect(hold["available"] == "30.00")

        let capture = try connection.send(Request("CAPTURE", ["hold": holdID, "amount": "5.50", "ref": "w-3"])).require()
        #expect(capture["captured"] == "5.50")
        #expect(capture["released"] == "14.50")
        #expect(capture["balance"] == "44.50")

        let history = try connection.send(Request("HISTORY", ["credit": credit]))
        #expect(history.items.map { $0["kind"] } == ["issue", "hold", "capture"])
        #expect(history.items[1]["hold"] == holdID)
        #expect(history.fields?["currency"] == "AUD")
        #expect(history.fields?["count"] == "3")

        // A retry with the same ref replays the original reply (PROTOCOL.md §7).
        let replay = try connection.send(Request("CAPTURE", ["hold": holdID, "amount": "5.5", "ref": "w-3"])).require()
        #expect(replay == capture)
    }

    @Test func errReplyIsReturnedAndTheConnectionStaysUsable() throws {
        let daemon = try Daemon()
        let connection = try daemon.client()
        defer { connection.close() }
        let reply = try connection.send(Request("BALANCE", ["credit": "cr_99"], tag: "q1"))
        #expect(reply.tag == "q1")
        #expect(reply.final == .error(code: "NOT_FOUND", message: "no credit cr_99"))
        #expect(throws: CreditClientError.server(code: "NOT_FOUND", message: "no credit cr_99")) { try reply.require() }
        #expect(try connection.send(Request("PING")).isOK)

        // A refused request sends nothing and leaves the connection usable too.
        #expect(throws: CreditClientError.self) { try connection.send(Request("HISTORY", ["credit": "cr_1\nSTATS"])) }
        #expect(try connection.send(Request("PING", tag: "after")).tag == "after")
    }

    @Test func authFailureAndRoles() throws {
        let daemon = try Daemon()
        let connection = try daemon.client(as: nil)
        defer { connection.close() }
        #expect(throws: CreditClientError.server(code: "AUTH_FAILED", message: "unknown key or wrong secret")) {
            try connection.authenticate(key: "dev-pos", secret: "wrong")
        }
        #expect(try connection.send(Request("BALANCE", ["credit": "cr_1"])).errorCode == "NOT_AUTHENTICATED")
        #expect(try connection.authenticate(key: "dev-pos", secret: "dev-pos-secret") == "pos")
        let forbidden = try connection.send(Request("ISSUE", ["type": "gift", "amount": "5", "currency": "AUD", "ref": "f-1"]))
        #expect(forbidden.errorCode == "FORBIDDEN")
        // A secret with spaces, quotes and backslashes is quoted, so the server reads one value.
        #expect(throws: CreditClientError.server(code: "AUTH_FAILED", message: "unknown key or wrong secret")) {
            try connection.authenticate(key: "dev-admin", secret: #"has a "quote" and \ backslash"#)
        }
        #expect(connection.role == "pos")
    }

    @Test func pipelineOf100TaggedRequests() throws {
        let daemon = try Daemon()
        let connection = try daemon.client()
        defer { connection.close() }
        let credit = try #require(try connection.send(Request("ISSUE", ["type": "gift", "amount": "100", "currency": "AUD", "ref": "p-issue"])).require()["credit"])
        // 50 holds of 1.00, each followed by a balance read: replies must come back in order.
        let requests: [Request] = (0..<100).map { index in
            index % 2 == 0
                ? Request(verb: "HOLD", arguments: [("credit", credit), ("amount", "1"), ("currency", "AUD"), ("ref", "p-\(index)")], tag: "t\(index)")
                : Request("BALANCE", ["credit": credit], tag: "t\(index)")
        }
        let replies = try connection.pipeline(requests)
        #expect(replies.count == 100)
        #expect(replies.map(\.tag) == (0..<100).map { "t\($0)" })
        for (index, reply) in replies.enumerated() where index % 2 == 1 {
            let fields = try reply.require()
            #expect(fields["held"] == "\((index + 1) / 2).00")
            #expect(fields["available"] == "\(100 - (index + 1) / 2).00")
        }
        #expect(Set(replies.enumerated().filter { $0.offset % 2 == 0 }.compactMap { $0.element.fields?["hold"] }).count == 50)
        // The connection carries on normally after a pipeline.
        #expect(try connection.send(Request("BALANCE", ["credit": credit])).require()["available"] == "50.00")
    }

    @Test func longPipelineFlowsPastTheServersBackPressure() throws {
        let daemon = try Daemon()
        let connection = try daemon.client()
        defer { connection.close() }
        let credit = try #require(try connection.send(Request("ISSUE", ["type": "gift", "amount": "500", "currency": "AUD", "ref": "l-issue"])).require()["credit"])
        let holds = try connection.pipeline((0..<150).map { index in
            Request(verb: "HOLD", arguments: [("credit", credit), ("amount", "1"), ("currency", "AUD"), ("ref", "l-\(index)")])
        })
        #expect(holds.allSatisfy { $0.isOK })
        // 1500 requests (over the 1024 in flight the server allows) whose replies total about
        // 2.5 MiB (over its 1 MiB of unsent replies): writing everything before reading would deadlock.
        let requests: [Request] = (0..<1500).map { index in
            index % 10 == 0 ? Request("HISTORY", ["credit": credit, "limit": "1000"], tag: "h\(index)") : Request("PING", tag: "h\(index)")
        }
        let replies = try connection.pipeline(requests)
        #expect(replies.count == 1500)
        #expect(replies.map(\.tag) == (0..<1500).map { "h\($0)" })
        #expect(replies.filter { $0.items.count == 151 }.count == 150)
        #expect(replies.allSatisfy { $0.isOK })
    }

    @Test func rawLinesAreSentAsTyped() throws {
        let daemon = try Daemon()
        let connection = try daemon.client()
        defer { connection.close() }
        let reply = try connection.send(line: "  #a-1   ping")
        #expect(reply.tag == "a-1")
        #expect(reply.isOK)
        #expect(try connection.send(line: "HISTORY Credit=cr_1").final == .error(code: "BAD_REQUEST", message: #"key "Credit" must be lowercase"#))
        #expect(throws: CreditClientError.self) { try connection.send(line: "") }
        #expect(throws: CreditClientError.self) { try connection.send(line: "PING\nSTATS") }
        #expect(throws: CreditClientError.self) { try connection.send(line: "PING " + String(repeating: " ", count: 1019)) }
        #expect(try connection.send(line: "PING " + String(repeating: " ", count: 1018)).isOK)  // 1023 bytes + LF
    }

    @Test func quitThenTheConnectionIsClosed() throws {
        let daemon = try Daemon()
        let connection = try daemon.client()
        #expect(try connection.send(Request("QUIT")).isOK)
        // The server closed after QUIT: the next request finds the connection closed (or reset).
        let error = try #require(throws: CreditClientError.self) { try connection.send(Request("PING")) }
        #expect(error.isConnectionFailure)
        #expect(throws: CreditClientError.self) { try connection.send(Request("PING")) }
        connection.close()
        connection.close()
    }

    @Test func busyServerIsAServerError() throws {
        let daemon = try Daemon(extraConfig: "max_connections = 1")
        let first = try daemon.client()
        defer { first.close() }
        let second = try CreditConnection(host: "127.0.0.1", port: daemon.port)
        #expect(throws: CreditClientError.server(code: "BUSY", message: "too many connections")) {
            try second.send(Request("PING", tag: "b1"))
        }
        #expect(try first.send(Request("PING")).isOK)
    }

    @Test func namesAndAddressFamilies() throws {
        let daemon = try Daemon()
        // "localhost" may resolve to ::1 first, where nothing listens; the next address is tried.
        let byName = try CreditConnection(host: "localhost", port: daemon.port)
        #expect(try byName.send(Request("PING")).isOK)
        byName.close()
        #expect(throws: CreditClientError.self) { try CreditConnection(host: "::1", port: daemon.port) }
        #expect(throws: CreditClientError.self) { try CreditConnection(host: "no-such-host.invalid", port: daemon.port) }
        #expect(throws: CreditClientError.self) { try CreditConnection(host: "127.0.0.1", port: 0) }
        let stopped = daemon.port
        daemon.stop()
        #expect(throws: CreditClientError.self) { try CreditConnection(host: "127.0.0.1", port: stopped) }
    }
}

extension Reply {
    /// The ERR code, or nil for OK.
    var errorCode: String? {
        if case .error(let code, _) = final { return code }
        return nil
    }
}
