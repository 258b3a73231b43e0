// A non-blocking TCP socket, optionally under TLS, with poll-based timeouts: connect, write bytes, read LF-ended lines.

import CreditTLS
import Glibc

/// The transport under `CreditConnection`. Every wait goes through `poll` with the timeout, so
/// no call blocks longer than `timeoutSeconds` without progress. Writing and reading can be
/// interleaved in one wait (`pump`), which is what lets a long pipeline flow without deadlock:
/// the server stops reading a connection whose replies are not being read (PROTOCOL.md §5).
final class LineSocket {
    private var fd: Int32
    private let timeoutSeconds: Int
    /// Received bytes not yet returned as lines: `input[inputStart...]`.
    private var input: [UInt8] = []
    private var inputStart = 0
    /// Why the socket was closed, once it is.
    private var closedReason: String?
    /// Scratch space for one `recv`, reused so that reading does not allocate.
    private var chunk = [UInt8](repeating: 0, count: 65_536)
    /// The TLS session when connected to the TLS port: every byte then goes through it.
    private var tls: TLSSession?
    /// The last TLS read needs the socket writable before it can go on.
    private var tlsReadWantsWrite = false

    /// Resolves `host` (IPv4 or IPv6, names or literals) and connects to the first address that
    /// accepts within the timeout.
    /// With a TLS context, also completes the handshake (verifying that the server's certificate
    /// names `host`) within the timeout.
    init(host: String, port: Int, timeoutSeconds: Int, tls context: TLSClientContext? = nil) throws {
        precondition(timeoutSeconds > 0, "timeoutSeconds must be positive")
        self.timeoutSeconds = timeoutSeconds
        fd = try LineSocket.connect(host: host, port: port, timeoutSeconds: timeoutSeconds)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let context {
            do {
                tls = try context.makeSession(fd: fd, serverName: host)
            } catch {
                throw fail(.tlsFailed(error.description))
            }
            try handshake()
        }
    }

    /// Drives the TLS handshake to completion, waiting on the socket as it asks.
    private func handshake() throws {
        guard let tls else { return }
        while true {
            var entry = pollfd(fd: fd, events: 0, revents: 0)
            switch tls.handshake() {
            case .done: return
            case .wantRead: entry.events = Int16(POLLIN)
            case .wantWrite: entry.events = Int16(POLLOUT)
            case .closed: throw fail(.tlsFailed("creditd closed the connection during the TLS handshake"))
            case .failed(let reason): throw fail(.tlsFailed(reason))
            }
            let ready = poll(&entry, 1, Int32(timeoutSeconds * 1000))
            if ready < 0 && errno != EINTR { throw fail(.socketFailed("poll: " + LineSocket.errorText(errno))) }
            if ready == 0 { throw fail(.timedOut(seconds: timeoutSeconds)) }
        }
    }

    deinit { close(reason: "closed") }

    /// Closes the socket; later calls throw `connectionClosed(reason)`.
    func close(reason: String) {
        guard fd >= 0 else { return }
        tls?.sendCloseNotify()
        _ = Glibc.close(fd)
        fd = -1
        closedReason = reason
    }

    /// Writes every byte, reading any input that arrives meanwhile into the buffer.
    func write(_ bytes: [UInt8]) throws {
        var pending = bytes[...]
        while !pending.isEmpty { try pump(&pending, wantInput: false) }
    }

    /// The next complete line (without its LF), waiting for input as needed.
    func readLine() throws -> [UInt8] {
        var nothing: ArraySlice<UInt8> = []
        while true {
            if let line = try bufferedLine() { return line }
            try pump(&nothing, wantInput: true)
        }
    }

    /// The next complete line already received, or nil. Throws if an unfinished line is over
    /// `WireLimits.replyLineBytesMax`.
    func bufferedLine() throws -> [UInt8]? {
        guard let newline = input[inputStart...].firstIndex(of: WireByte.lineFeed) else {
            if input.count - inputStart > WireLimits.replyLineBytesMax {
                let head = Array(input[inputStart..<(inputStart + 200)])
                close(reason: "protocol violation")
                throw violation(head, "reply line longer than \(WireLimits.replyLineBytesMax) bytes")
            }
            return nil
        }
        let line = Array(input[inputStart..<newline])
        inputStart = newline + 1
        return line
    }

    /// Waits until the socket can make progress, then writes what it can of `output` (dropping
    /// the bytes written) and, if readable, appends received bytes to the buffer. Throws on
    /// timeout, on end of input while `wantInput`, and on socket errors; all of them close.
    func pump(_ output: inout ArraySlice<UInt8>, wantInput: Bool) throws {
        guard fd >= 0 else { throw CreditClientError.connectionClosed(closedReason ?? "closed") }
        if let tls, tls.hasBufferedInput {
            // Input OpenSSL already holds: poll would not report it.
            return try receive(wantInput: wantInput)
        }
        let wantsWritable = !output.isEmpty || tlsReadWantsWrite
        var entry = pollfd(fd: fd, events: Int16(POLLIN) | (wantsWritable ? Int16(POLLOUT) : 0), revents: 0)
        let ready = poll(&entry, 1, Int32(timeoutSeconds * 1000))
        if ready < 0 {
            if errno == EINTR { return }
            throw fail(.socketFailed("poll: " + LineSocket.errorText(errno)))
        }
        guard ready > 0 else { throw fail(.timedOut(seconds: timeoutSeconds)) }
        if tls != nil {
            // Either direction may need the other (handshake messages, key updates): try both.
            try receive(wantInput: wantInput)
            if !output.isEmpty { try send(&output) }
            return
        }
        if entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            try receive(wantInput: wantInput)
        }
        if !output.isEmpty && entry.revents & Int16(POLLOUT | POLLERR) != 0 {
            try send(&output)
        }
    }

    /// Reads what is available into the buffer.
    private func receive(wantInput: Bool) throws {
        if inputStart > 0 && inputStart == input.count {
            input.removeAll(keepingCapacity: true)
            inputStart = 0
        } else if inputStart > 65_536 {
            input.removeFirst(inputStart)
            inputStart = 0
        }
        if let tls { return try receive(through: tls, wantInput: wantInput) }
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            input += chunk[..<count]
        } else if count == 0 {
            // End of input: fatal only if the caller is waiting for a reply; a write-only
            // pump leaves it for the next read to report.
            if wantInput { throw fail(.connectionClosed("creditd closed the connection")) }
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            throw fail(.socketFailed("recv: " + LineSocket.errorText(errno)))
        }
    }

    /// Reads what the TLS session can decrypt now into the buffer.
    private func receive(through tls: TLSSession, wantInput: Bool) throws {
        tlsReadWantsWrite = false
        switch chunk.withUnsafeMutableBytes({ tls.read(into: $0) }) {
        case .done(let count): input += chunk[..<count]
        case .wantRead: break
        case .wantWrite: tlsReadWantsWrite = true
        case .closed: if wantInput { throw fail(.connectionClosed("creditd closed the connection")) }
        case .failed(let reason): throw fail(.tlsFailed(reason))
        }
    }

    /// Writes what the socket accepts now.
    private func send(_ output: inout ArraySlice<UInt8>) throws {
        if let tls {
            switch output.withUnsafeBytes({ tls.write($0) }) {
            case .done(let count): output = output.dropFirst(count)
            case .wantRead, .wantWrite: break
            case .closed: throw fail(.connectionClosed("creditd closed the connection"))
            case .failed(let reason): throw fail(.tlsFailed(reason))
            }
            return
        }
        let sent = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent > 0 {
            output = output.dropFirst(sent)
        } else if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            let code = errno
            if code == EPIPE || code == ECONNRESET { throw fail(.connectionClosed("creditd closed the connection")) }
            throw fail(.socketFailed("send: " + LineSocket.errorText(code)))
        }
    }

    /// Closes the socket and returns the error to throw.
    private func fail(_ error: CreditClientError) -> CreditClientError {
        close(reason: error.description)
        return error
    }

    // MARK: - Connecting

    /// Tries every address of `host` in turn; returns a connected non-blocking socket.
    private static func connect(host: String, port: Int, timeoutSeconds: Int) throws -> Int32 {
        guard (1...65_535).contains(port) else {
            throw CreditClientError.cannotConnect(host: host, port: port, reason: "port must be 1 to 65535")
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw CreditClientError.cannotConnect(host: host, port: port, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var reasons: [String] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            next = info.pointee.ai_next
            switch connect(info.pointee, timeoutSeconds: timeoutSeconds) {
            case .success(let fd): return fd
            case .failure(let failure): reasons.append(failure.text)
            }
        }
        // A literal address that failed needs no repeating: "Connection refused", not "::1: Connection refused".
        let single = reasons.count == 1 && reasons[0].hasPrefix(host + ": ") ? String(reasons[0].dropFirst(host.count + 2)) : nil
        throw CreditClientError.cannotConnect(host: host, port: port, reason: single ?? reasons.joined(separator: "; "))
    }

    /// Connects to one address with a non-blocking connect and a poll for completion.
    private static func connect(_ info: addrinfo, timeoutSeconds: Int) -> Result<Int32, ConnectFailure> {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = socket(info.ai_family, flags, 0)
        guard fd >= 0 else { return .failure(ConnectFailure(text: "socket: " + errorText(errno))) }
        let address = describe(info)
        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return .success(fd) }
        guard errno == EINPROGRESS || errno == EINTR else {
            let text = errorText(errno)
            _ = Glibc.close(fd)
            return .failure(ConnectFailure(text: "\(address): \(text)"))
        }
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&entry, 1, Int32(timeoutSeconds * 1000)) } while ready < 0 && errno == EINTR
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if ready > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0 && soError == 0 { return .success(fd) }
        _ = Glibc.close(fd)
        let text = ready == 0 ? "timed out after \(timeoutSeconds) s" : errorText(soError != 0 ? soError : errno)
        return .failure(ConnectFailure(text: "\(address): \(text)"))
    }

    /// The numeric address of an addrinfo entry (`127.0.0.1`, `::1`).
    private static func describe(_ info: addrinfo) -> String {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(info.ai_addr, info.ai_addrlen, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else {
            return "address"
        }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// strerror as a Swift string.
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Why one address could not be connected to.
private struct ConnectFailure: Error {
    let text: String
}
