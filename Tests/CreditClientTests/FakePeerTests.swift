// Proves that CreditConnection turns a misbehaving peer into the right error and closes:
// silence becomes a timeout, malformed or over-long lines and mismatched tags become protocol
// violations, and a peer that hangs up mid-reply becomes a closed connection.

@testable import CreditTestSupport
import CreditClient
import Foundation
import Glibc
import Testing

/// A one-connection TCP listener on loopback that answers the first request line with fixed
/// bytes (then optionally hangs up) — a stand-in for a broken server.
final class FakePeer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    init(answer: [UInt8], hangUp: Bool = false) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw TestError("fake peer cannot listen: errno \(errno)")
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let done = self.done
        Thread {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            var byte: UInt8 = 0
            while recv(fd, &byte, 1, 0) == 1 && byte != 0x0A {}
            _ = answer.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if !hangUp { _ = done.wait(timeout: .now() + 30) }
            close(fd)
        }.start()
    }

    deinit {
        done.signal()
        close(listener)
    }
}

@Suite struct FakePeerTests {
    @Test func silenceIsATimeoutAndCloses() throws {
        let peer = try FakePeer(answer: [])
        let connection = try CreditConnection(host: "127.0.0.1", port: peer.port, timeoutSeconds: 1)
        let started = Date()
        #expect(throws: CreditClientError.timedOut(seconds: 1)) { try connection.send(Request("PING")) }
        #expect(Date().timeIntervalSince(started) < 5)
        let after = try #require(throws: CreditClientError.self) { try connection.send(Request("PING")) }
        guard case .connectionClosed = after else { Issue.record("expected connectionClosed, got \(after)"); return }
    }

    @Test(arguments: ["OKAY\n", "ok\n", "ERR\n", "OK a=\"x\n", "OK a=\u{1}\n", "#other OK\n", "OK\n"])
    func malformedOrMistaggedReplyIsAViolation(answer: String) throws {
        let peer = try FakePeer(answer: Array(answer.utf8))
        let connection = try CreditConnection(host: "127.0.0.1", port: peer.port, timeoutSeconds: 5)
        // The request is tagged `mine`, so even a well-formed untagged `OK` is out of step.
        let error = try #require(throws: CreditClientError.self) { try connection.send(Request("PING", tag: "mine")) }
        guard case .protocolViolation = error else { Issue.record("expected a protocol violation, got \(error)"); return }
        #expect(throws: CreditClientError.self) { try connection.send(Request("PING")) }
    }

    @Test func overLongLineIsAViolation() throws {
        let peer = try FakePeer(answer: Array(("OK a=" + String(repeating: "x", count: 70_000)).utf8))
        let connection = try CreditConnection(host: "127.0.0.1", port: peer.port, timeoutSeconds: 5)
        let error = try #require(throws: CreditClientError.self) { try connection.send(Request("PING")) }
        guard case .protocolViolation(_, let reason) = error else { Issue.record("got \(error)"); return }
        #expect(reason.contains("longer than"))
    }

    @Test func hangUpMidReplyIsAClosedConnection() throws {
        let peer = try FakePeer(answer: Array("* seq=1\n* seq=2\n".utf8), hangUp: true)
        let connection = try CreditConnection(host: "127.0.0.1", port: peer.port, timeoutSeconds: 5)
        let error = try #require(throws: CreditClientError.self) { try connection.send(Request("HISTORY", ["credit": "cr_1"])) }
        #expect(error.isConnectionFailure)
        guard case .connectionClosed = error else { Issue.record("expected connectionClosed, got \(error)"); return }
    }

    @Test func pipelineStopsAtAMismatchedTag() throws {
        let peer = try FakePeer(answer: Array("#p0 OK\n#p2 OK\n".utf8))
        let connection = try CreditConnection(host: "127.0.0.1", port: peer.port, timeoutSeconds: 5)
        let error = try #require(throws: CreditClientError.self) {
            try connection.pipeline((0..<3).map { Request("PING", tag: "p\($0)") })
        }
        guard case .protocolViolation(let line, _) = error else { Issue.record("got \(error)"); return }
        #expect(line == "#p2 OK")
    }
}
