// A client connection to creditd: connect, authenticate, send requests, pipeline, close.

/// One TCP (or TLS) connection to creditd speaking the line protocol of PROTOCOL.md.
///
/// ```swift
/// let connection = try CreditConnection(host: "127.0.0.1", port: 7878)
/// defer { connection.close() }
/// _ = try connection.authenticate(key: "till-3", secret: secret)
/// let balance = try connection.send(Request("BALANCE", ["credit": "cr_1"])).require()
/// print(balance["available"]!, balance["currency"]!)   // "27.70 AUD"; amounts stay strings
/// ```
///
/// **Threads.** A connection is not thread-safe: use it from one thread at a time (it is not
/// `Sendable`). Open one connection per thread or till; the server orders requests across
/// connections itself.
///
/// **Errors.** An `ERR` reply is returned as a `Reply` (or thrown by `Reply.require()`), and a
/// request that cannot be encoded throws `invalidRequest` before anything is sent; the connection
/// stays usable after both. Any other error (timeout, closed connection, protocol violation)
/// closes the connection, since replies can no longer be matched to requests. Retry mutating
/// requests on a new connection with the same `ref=`: the server replays the original reply.
public final class CreditConnection {
    /// The host name or address this connection was opened to.
    public let host: String
    /// The TCP port.
    public let port: Int
    /// The role from the last successful `authenticate`, or nil before one.
    public private(set) var role: String?
    private let socket: LineSocket

    /// Connects to creditd. `host` is a name or an IPv4/IPv6 literal (brackets allowed, as in
    /// `[::1]`); every address it resolves to is tried in turn. `timeoutSeconds` bounds each
    /// connect attempt and each wait for the server (to accept bytes or send a reply). With
    /// `tls`, the connection is to the TLS port and the handshake completes before this returns.
    /// Throws `CreditClientError.cannotConnect`, or `.tlsFailed` when TLS cannot be set up.
    public init(host: String, port: Int, timeoutSeconds: Int = 10, tls: TLSOptions? = nil) throws {
        var name = host
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        self.host = name
        self.port = port
        socket = try LineSocket(host: name, port: port, timeoutSeconds: timeoutSeconds, tls: try tls?.makeContext())
    }

    /// Sends `AUTH key= secret=` and returns the role (`admin` or `pos`). Throws
    /// `CreditClientError.server(code: "AUTH_FAILED", ...)` for a wrong key or secret; after the
    /// 5th failure on one connection the server closes it.
    @discardableResult
    public func authenticate(key: String, secret: String) throws -> String {
        let fields = try send(Request("AUTH", ["key": key, "secret": secret])).require()
        guard let role = fields["role"] else {
            socket.close(reason: "protocol violation")
            throw CreditClientError.protocolViolation(line: "OK", reason: "AUTH reply has no role=")
        }
        self.role = role
        return role
    }

    /// Sends one request and returns its whole reply (items and final line). An `ERR` reply is
    /// returned, not thrown; call `require()` on the reply to throw it.
    public func send(_ request: Request) throws -> Reply {
        let line = try request.encodedLine()
        try socket.write(line)
        return try readReply(expectedTag: request.tag)
    }

    /// Sends requests without waiting and returns their replies in request order. Writing and
    /// reading overlap, so any number of requests flows without deadlock. Each reply's tag must
    /// equal its request's tag (nil for none). Every request is encoded before anything is sent,
    /// so an invalid one throws `invalidRequest` with nothing sent.
    public func pipeline(_ requests: [Request]) throws -> [Reply] {
        var output: [UInt8] = []
        for request in requests { output += try request.encodedLine() }
        var pending = output[...]
        var replies: [Reply] = []
        replies.reserveCapacity(requests.count)
        var assembler = ReplyAssembler()
        while replies.count < requests.count {
            guard let line = try socket.bufferedLine() else {
                try socket.pump(&pending, wantInput: true)
                continue
            }
            if let reply = try consume(line, into: &assembler) {
                try check(reply, expectedTag: requests[replies.count].tag, line: line)
                replies.append(reply)
            }
        }
        while !pending.isEmpty { try socket.pump(&pending, wantInput: false) }
        return replies
    }

    /// Sends a raw request line (for interactive use) and returns its reply, without checking
    /// the tag. The line must be non-empty printable ASCII of at most 1023 bytes (the server
    /// does not answer an empty line). Prefer `send(_:)`, which quotes values for you.
    public func send(line: String) throws -> Reply {
        let bytes = Array(line.utf8)
        if let bad = bytes.first(where: { !WireByte.isPrintable($0) }) {
            throw CreditClientError.invalidRequest("byte \(WireByte.describe(bad)) is not printable ASCII")
        }
        guard !bytes.isEmpty else { throw CreditClientError.invalidRequest("an empty line gets no reply") }
        guard bytes.count < WireLimits.requestLineBytesMax else {
            throw CreditClientError.invalidRequest("the line is \(bytes.count + 1) bytes with its LF; the limit is \(WireLimits.requestLineBytesMax)")
        }
        try socket.write(bytes + [WireByte.lineFeed])
        return try readReply(expectedTag: nil, checkTag: false)
    }

    /// Closes the connection. Later calls throw `CreditClientError.connectionClosed`. Closing
    /// twice is harmless.
    public func close() {
        socket.close(reason: "the client closed the connection")
    }

    /// Reads item lines until a final line and checks its tag.
    private func readReply(expectedTag: String?, checkTag: Bool = true) throws -> Reply {
        var assembler = ReplyAssembler()
        while true {
            let line = try socket.readLine()
            if let reply = try consume(line, into: &assembler) {
                if checkTag { try check(reply, expectedTag: expectedTag, line: line) }
                return reply
            }
        }
    }

    /// Parses one line into the reply being assembled; a malformed line closes the connection.
    private func consume(_ line: [UInt8], into assembler: inout ReplyAssembler) throws -> Reply? {
        do {
            return try assembler.consume(line)
        } catch {
            socket.close(reason: "protocol violation")
            throw error
        }
    }

    /// Throws (and closes) if the reply's tag is not the request's: the stream is out of step.
    /// The one untagged reply a tagged request can meet is `ERR BUSY`, which the server sends on
    /// connect when it is full (PROTOCOL.md §12); it is thrown as the server error it is.
    private func check(_ reply: Reply, expectedTag: String?, line: [UInt8]) throws {
        guard reply.tag != expectedTag else { return }
        socket.close(reason: "protocol violation")
        if reply.tag == nil, case .error(let code, let message) = reply.final, code == "BUSY" {
            throw CreditClientError.server(code: code, message: message)
        }
        let expected = expectedTag.map { "#" + $0 } ?? "no tag"
        throw violation(line, "reply tag does not match the request (expected \(expected))")
    }
}
