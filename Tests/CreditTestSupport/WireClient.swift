// Test support: a blocking line-protocol client over a loopback TCP socket, plain or TLS.

import CreditTLS
import Foundation
import Glibc

/// A socket client: send lines, read reply lines (items, then one final OK/ERR line). With a
/// TLS context it handshakes on connect and every byte goes through the TLS session; the
/// methods behave the same either way, so one test can run over both transports.
final class WireClient {
    let fd: Int32
    /// The TLS session, when connected to the TLS port.
    let tls: TLSSession?
    private var buffer: [UInt8] = []

    init(port: Int, timeoutSeconds: Int = 10, tls context: TLSClientContext? = nil) throws {
        // Close-on-exec: a daemon another test spawns must not inherit (and so keep open) this socket.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw TestError("connect to \(port) failed: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        self.tls = try context.map { try WireClient.handshake(fd: fd, context: $0) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// A completed client handshake on the blocking socket (the read timeout bounds it).
    private static func handshake(fd: Int32, context: TLSClientContext) throws -> TLSSession {
        let session: TLSSession
        do {
            session = try context.makeSession(fd: fd, serverName: "127.0.0.1")
        } catch {
            close(fd)
            throw TestError("TLS session: \(error)")
        }
        let outcome = session.handshake()
        guard outcome == .done(0) else {
            close(fd)
            throw TestError("TLS handshake failed: \(outcome)")
        }
        return session
    }

    /// Closes the sending side (the daemon sees end of input) but keeps reading. Over TLS, sends
    /// close_notify first.
    func shutdownWrite() {
        tls?.sendCloseNotify()
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Changes how long a read may wait before it throws.
    func setReadTimeout(milliseconds: Int) {
        var timeout = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Whether a read would return at once (a line, end of file or an error), waiting at most
    /// `timeoutMillis` for it.
    func hasInput(timeoutMillis: Int32 = 0) -> Bool {
        if !buffer.isEmpty || tls?.hasBufferedInput == true { return true }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, timeoutMillis) > 0
    }

    /// True once the daemon has closed the connection: reads end of file (or a reset) before any
    /// further line arrives. Throws if a line arrives instead, or on a read timeout.
    func isClosedByServer() throws -> Bool {
        do {
            if let line = try readLine() { throw TestError("expected the connection to close, got line \(line)") }
            return true
        } catch let error as TestError where error.description.hasSuffix("errno \(ECONNRESET)") {
            return true
        }
    }

    /// Sends raw bytes.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            if let tls {
                let outcome = bytes[offset...].withUnsafeBytes { tls.write($0) }
                guard case .done(let written) = outcome else { throw TestError("TLS send failed: \(outcome)") }
                offset += written
                continue
            }
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestError("send failed: errno \(errno)") }
            offset += written
        }
    }

    /// Sends text as is (add the LF yourself).
    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads one line (without its LF); nil at EOF.
    func readLine() throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = try receive(into: &chunk)
            if count == 0 { return nil }
            buffer += chunk[..<count]
        }
    }

    /// One read from the socket or the TLS session: the byte count, 0 at end of input.
    private func receive(into chunk: inout [UInt8]) throws -> Int {
        guard let tls else {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count >= 0 else { throw TestError("recv failed or timed out: errno \(errno)") }
            return count
        }
        switch chunk.withUnsafeMutableBytes({ tls.read(into: $0) }) {
        case .done(let count): return count
        case .closed: return 0
        case .wantRead, .wantWrite: throw TestError("TLS recv timed out: errno \(EAGAIN)")
        case .failed(let reason) where reason.contains("reset by peer"):
            throw TestError("TLS recv failed: \(reason), errno \(ECONNRESET)")
        case .failed(let reason): throw TestError("TLS recv failed: \(reason)")
        }
    }

    /// Reads one whole reply: item lines then the final line (OK/ERR, possibly tagged).
    func readReply() throws -> [String] {
        var lines: [String] = []
        while let line = try readLine() {
            lines.append(line)
            if !line.hasPrefix("* ") { return lines }
        }
        throw TestError("connection closed mid-reply after \(lines)")
    }

    /// Reads `count` whole replies.
    func readReplies(_ count: Int) throws -> [[String]] {
        try (0..<count).map { _ in try readReply() }
    }

    /// Sends one request line and reads its whole reply.
    func request(_ line: String) throws -> [String] {
        try send(line + "\n")
        return try readReply()
    }

    /// Sends a request and returns the fields of its final line, failing unless it is OK.
    func ok(_ line: String) throws -> [String: String] {
        let reply = try request(line)
        guard let final = reply.last, final.hasPrefix("OK") else { throw TestError("expected OK for \(line), got \(reply)") }
        return fields(final)
    }

    /// The `key=value` fields of a reply line (values unquoted).
    func fields(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        for token in line.split(separator: " ") where token.contains("=") {
            let parts = token.split(separator: "=", maxSplits: 1)
            result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }
}

/// A gift card as the ISSUE reply revealed it.
struct IssuedCard: Sendable {
    let credit: String
    let card: String
    let pin: String
}

extension WireClient {
    /// Issues a gift card (needs an admin connection) and returns its id, number and PIN.
    func issueGift(amount: String, currency: String = "AUD", ref: String) throws -> IssuedCard {
        let reply = try ok("ISSUE type=gift amount=\(amount) currency=\(currency) ref=\(ref)")
        guard let credit = reply["credit"], let card = reply["card"], let pin = reply["pin"] else {
            throw TestError("ISSUE reply lacks credit/card/pin: \(reply)")
        }
        return IssuedCard(credit: credit, card: card, pin: pin)
    }

    /// STATS (needs an admin connection) once the daemon has written `count` snapshots, which it
    /// does in the background: polls every 20 ms for up to 60 s (CI's busiest moments), then
    /// returns the last STATS whatever it says, for the caller to check.
    func statsOnceSnapshotted(_ count: Int) throws -> [String: String] {
        var stats = try ok("STATS")
        for _ in 0..<3000 where Int(stats["snapshots"] ?? "") ?? 0 < count {
            usleep(20_000)
            stats = try ok("STATS")
        }
        return stats
    }

    /// The item lines of a HISTORY reply as field dictionaries, oldest first, and the final line.
    func history(_ credit: String, limit: Int = 1000) throws -> (items: [[String: String]], final: String) {
        let reply = try request("HISTORY credit=\(credit) limit=\(limit)")
        guard let final = reply.last, final.hasPrefix("OK") else { throw TestError("HISTORY failed: \(reply)") }
        return (reply.dropLast().map { fields($0) }, final)
    }
}

extension WireClient {
    /// The `key=value` fields of a reply line, reading double-quoted values (`reason="to buyer"`)
    /// as the daemon's encoder writes them: `\"` and `\\` inside quotes stand for `"` and `\`.
    static func fieldsOf(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        var characters = Substring(line)
        while let equals = characters.firstIndex(of: "=") {
            let key = characters[..<equals].split(separator: " ").last.map(String.init) ?? ""
            characters = characters[characters.index(after: equals)...]
            var value = ""
            if characters.first == "\"" {
                characters = characters.dropFirst()
                while let next = characters.first, next != "\"" {
                    characters = characters.dropFirst()
                    if next == "\\", let escaped = characters.first {
                        value.append(escaped)
                        characters = characters.dropFirst()
                    } else {
                        value.append(next)
                    }
                }
                characters = characters.dropFirst()
            } else {
                let end = characters.firstIndex(of: " ") ?? characters.endIndex
                value = String(characters[..<end])
                characters = characters[end...]
            }
            result[key] = value
        }
        return result
    }
}
