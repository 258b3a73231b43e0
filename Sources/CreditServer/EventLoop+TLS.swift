// EventLoop+TLS: the TLS port's reads, writes and handshakes, beside the plaintext path.
//
// A TLS connection goes through the same loop, limits, timeouts and engine path as a plaintext
// one; only the bytes pass through its `TLSSession`. OpenSSL may need the socket writable to
// read (a handshake message, a key update) or readable to write, and may hold input the kernel
// no longer reports, so the loop tracks those three cases per connection.

import CEpoll
import CreditTLS

extension EventLoop {
    /// A server session for a just-accepted socket, or nil (logged) if OpenSSL cannot make one.
    func makeTLSSession(_ context: TLSServerContext, fd: Int32, peer: String) -> TLSSession? {
        do {
            return try context.makeSession(fd: fd)
        } catch {
            Log.write(.error, "TLS session set-up failed", ["peer": peer, "error": "\(error)"])
            return nil
        }
    }

    /// Handles one epoll event for a TLS connection.
    func dispatchTLS(_ connection: Connection, _ events: UInt32) {
        let readable = events & (cepoll_in | cepoll_hup | cepoll_err | cepoll_rdhup) != 0
        let writable = events & cepoll_out != 0
        if readable || (writable && connection.tlsReadWantsWrite) { readFrom(connection) }
        guard self.connection(connection.fd) === connection else { return }
        if writable || (readable && connection.tlsWriteWantsRead) { writeTo(connection) }
    }

    /// Reads one chunk of plaintext through TLS (finishing the handshake first) and processes it.
    func readTLS(_ connection: Connection) {
        guard let tls = connection.tls else { return }
        connection.tlsReadWantsWrite = false
        if !tls.isEstablished {
            guard advanceHandshake(connection, tls) else { return }
        }
        let outcome = readBuffer.withUnsafeMutableBytes { tls.read(into: $0) }
        switch outcome {
        case .done(let count):
            connection.lastActiveMillis = monotonicMillis()
            readBuffer.withUnsafeBytes { connection.framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        case .wantRead:
            return updateInterest(connection)
        case .wantWrite:
            connection.tlsReadWantsWrite = true
            return updateInterest(connection)
        case .closed:
            connection.lastActiveMillis = monotonicMillis()
            connection.peerClosed = true
        case .failed(let reason):
            Log.write(.warn, "closing TLS connection: read failed", ["peer": connection.peer, "error": reason])
            return closeConnection(connection)
        }
        process(connection)
    }

    /// Writes ready replies through TLS. False if the connection was closed.
    func writeTLS(_ connection: Connection) -> Bool {
        guard let tls = connection.tls, tls.isEstablished else { return true }
        connection.tlsWriteWantsRead = false
        while connection.readyOffset < connection.ready.count {
            let outcome = connection.ready.withUnsafeBytes { buffer in
                tls.write(UnsafeRawBufferPointer(rebasing: buffer[connection.readyOffset...]))
            }
            switch outcome {
            case .done(let count):
                connection.readyOffset += count
            case .wantWrite:
                return true
            case .wantRead:
                connection.tlsWriteWantsRead = true
                return true
            case .closed, .failed:
                let reason = if case .failed(let text) = outcome { text } else { "peer closed the TLS stream" }
                Log.write(.info, "closing TLS connection: write failed", ["peer": connection.peer, "error": reason])
                closeConnection(connection)
                return false
            }
        }
        return true
    }

    /// The extra epoll interest a TLS connection needs. Also queues a connection whose input
    /// waits inside OpenSSL, since epoll will not report it.
    func tlsInterest(_ connection: Connection) -> UInt32 {
        guard let tls = connection.tls else { return 0 }
        var wanted: UInt32 = 0
        if connection.tlsReadWantsWrite { wanted |= cepoll_out }
        if connection.tlsWriteWantsRead { wanted |= cepoll_in | cepoll_rdhup }
        if connection.canProcess && !connection.peerClosed && tls.hasBufferedInput { tlsBuffered.insert(connection.fd) }
        return wanted
    }

    /// Reads from every TLS connection whose input waits inside OpenSSL.
    func readBufferedTLS() {
        guard !tlsBuffered.isEmpty else { return }
        let buffered = tlsBuffered
        tlsBuffered.removeAll()
        for fd in buffered {
            if let connection = connection(fd) { readFrom(connection) }
        }
    }

    /// One handshake step. True once established; false while it waits (interest updated) or
    /// after it failed (connection closed and the failure logged).
    private func advanceHandshake(_ connection: Connection, _ tls: TLSSession) -> Bool {
        switch tls.handshake() {
        case .done:
            engine.counters.tlsHandshakes += 1
            return true
        case .wantRead:
            updateInterest(connection)
        case .wantWrite:
            connection.tlsReadWantsWrite = true
            updateInterest(connection)
        case .closed:
            engine.counters.tlsHandshakeFailures += 1
            Log.write(.info, "TLS client left during the handshake", ["peer": connection.peer])
            closeConnection(connection)
        case .failed(let reason):
            engine.counters.tlsHandshakeFailures += 1
            Log.write(.warn, "TLS handshake failed", ["peer": connection.peer, "error": reason])
            closeConnection(connection)
        }
        return false
    }
}
