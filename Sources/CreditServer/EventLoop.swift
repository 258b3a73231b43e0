// EventLoop: one thread, one epoll set — accepts, reads, runs the engine, and writes durable replies.

import CEpoll
import CreditCore
import CreditProtocol
import CreditTLS
import Glibc

/// The daemon's network loop. Everything that touches the ledger runs on this thread; the only
/// other threads are the journal writer (which wakes this loop through an eventfd when records
/// become durable), the journal's spare-segment maker, the snapshot writer, and once, 2 s after
/// start, a memory release.
final class EventLoop {
    /// Bytes read from a socket at once.
    static let readChunkBytes = 64 * 1024
    /// Longest sleep between timer checks (hold expiry, idle connections).
    static let tickMillis: Int64 = 1000
    /// How long a graceful stop waits for clients to take their last replies.
    static let drainMillis: Int64 = 2000
    /// Most connections ready in one turn for which the loop flushes the journal early (see
    /// `flushesEarly`). Why 16: HOLD at 16 connections gained about 9% from early flushes; at 64 and
    /// 256 connections, flushing after every event gave no throughput the noise let through,
    /// raised p99 at 256 and doubled the journal thread's CPU, and at 32, flushing early in every
    /// turn was lower than never in three pairs out of three (BENCHMARKS.md).
    static let earlyFlushConnectionsMax = 16

    let engine: Engine
    let config: ServerConfig
    private let epollFD: Int32
    private var listeners: Listeners
    private let wakeFD: Int32
    private let signalFD: Int32
    private var connections: [Connection?] = []
    private var connectionsByAddress: [String: Int] = [:]
    private var waiting: Set<Int32> = []
    var readBuffer = [UInt8](repeating: 0, count: EventLoop.readChunkBytes)
    /// TLS connections with input already inside OpenSSL, which epoll cannot report: read
    /// again on the next turn without sleeping.
    var tlsBuffered: Set<Int32> = []
    private var lastTickMillis: Int64 = 0
    /// When the current spell of polling for a commit in flight began (monotonic µs), or 0,
    /// and the durable LSN it began at: each commit that ends starts a new spell.
    private var spinStartMicros: Int64 = 0
    private var spinStartDurable: UInt64 = 0
    /// When the loop last sent a lone connection every reply it waited for (monotonic µs), or 0:
    /// it polls for that till's next request for up to `event_loop_spin_us` from then.
    private var answeredLoneMicros: Int64 = 0
    /// When to hand memory freed by forgotten refs back to the kernel.
    private var memoryRelease: MemoryReleasePolicy
    private var stopping = false
    private let onReload: () -> Void

    init(engine: Engine, config: ServerConfig, listeners: Listeners, wakeFD: Int32, signalFD: Int32,
         onReload: @escaping () -> Void) throws(ServerError) {
        self.engine = engine
        self.onReload = onReload
        self.config = config
        self.listeners = listeners
        self.wakeFD = wakeFD
        self.signalFD = signalFD
        memoryRelease = MemoryReleasePolicy(refCount: engine.ledger.refCount)
        epollFD = cepoll_create()
        guard epollFD >= 0 else { throw ServerError("epoll_create failed: \(errnoText())") }
        for fd in [listeners.plainFD, listeners.tlsFD, wakeFD, signalFD]
        where fd >= 0 && cepoll_ctl(epollFD, 0, fd, cepoll_in) != 0 {
            throw ServerError("epoll_ctl failed: \(errnoText())")
        }
    }

    /// Runs until SIGTERM or SIGINT, then answers what is in flight and returns.
    func run() {
        engine.assertLedgerHeldAlone()
        var events = [cepoll_event](repeating: cepoll_event(), count: 256)
        while !stopping {
            let count = cepoll_wait(epollFD, &events, Int32(events.count), Int32(keepPolling() ? 0 : timeoutMillis()))
            if count < 0 && errno != EINTR { fatal("epoll_wait failed: \(errnoText())") }
            let ready = readyConnections(events, count: Int(count))
            for index in 0..<max(0, Int(count)) {
                dispatch(events[index])
                let replies = connection(events[index].fd)?.heldMarks.count ?? 0
                if EventLoop.flushesEarly(readyConnections: ready, repliesWaiting: replies) { engine.journal.flush() }
            }
            readBufferedTLS()
            engine.journal.flush()
            releaseDurable()
            tick()
        }
        drainAndClose()
    }

    // MARK: Events

    /// Whether to ask the journal writer for a commit right after handling a connection's event,
    /// rather than once at the end of the turn: when the connection has exactly one reply waiting
    /// after it (as a till that sends one request at a time has) and at most
    /// `earlyFlushConnectionsMax` connections are ready this turn. The writer, if idle, then syncs
    /// that till's change while the loop handles the other tills' requests. A pipelining client
    /// (several replies waiting) waits for the end of the turn, so that one sync serves more of
    /// its requests; and a turn with more ready connections is batch enough.
    static func flushesEarly(readyConnections: Int, repliesWaiting: Int) -> Bool {
        repliesWaiting == 1 && readyConnections <= earlyFlushConnectionsMax
    }

    /// How many of a turn's events are for client connections (not listeners, wake-ups or signals).
    private func readyConnections(_ events: [cepoll_event], count: Int) -> Int {
        var ready = 0
        for index in 0..<max(0, count) where connection(events[index].fd) != nil { ready += 1 }
        return ready
    }

    private func dispatch(_ event: cepoll_event) {
        let fd = event.fd
        if fd == listeners.plainFD { return acceptAll(from: fd, tls: nil) }
        if fd == listeners.tlsFD { return acceptAll(from: fd, tls: listeners.tlsContext) }
        if fd == wakeFD { var value: UInt64 = 0; _ = read(wakeFD, &value, 8); return }
        if fd == signalFD { return handleSignals() }
        guard let connection = connection(fd) else { return }
        if connection.tls != nil { return dispatchTLS(connection, event.events) }
        if event.events & (cepoll_in | cepoll_hup | cepoll_err | cepoll_rdhup) != 0 { readFrom(connection) }
        if self.connection(fd) != nil && event.events & cepoll_out != 0 { writeTo(connection) }
    }

    /// Accepts every pending connection on `listenFD`; `tls` gives each one a TLS session.
    private func acceptAll(from listenFD: Int32, tls: TLSServerContext?) {
        var peer = [CChar](repeating: 0, count: 64)
        while true {
            let fd = cepoll_accept(listenFD, &peer, Int32(peer.count))
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { Log.write(.warn, "accept failed", ["error": errnoText()]) }
                return
            }
            let peerText = String(decoding: peer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard engine.counters.connectionsOpen < config.connectionsMax,
                  connectionsByAddress[peerText, default: 0] < config.connectionsPerAddressMax
            else {
                engine.counters.connectionsRefused += 1
                // A TLS client could not read a plaintext line: it only sees the close.
                if tls == nil {
                    let busy = Array("ERR BUSY too many connections\n".utf8)
                    _ = send(fd, busy, busy.count, Int32(MSG_NOSIGNAL))
                }
                close(fd)
                continue
            }
            var session: TLSSession?
            if let tls {
                session = makeTLSSession(tls, fd: fd, peer: peerText)
                if session == nil { close(fd); continue }
            }
            connectionsByAddress[peerText, default: 0] += 1
            _ = cepoll_nodelay(fd)
            let connection = Connection(fd: fd, peer: peerText, now: monotonicMillis(), tls: session)
            if Int(fd) >= connections.count { connections += Array(repeating: nil, count: Int(fd) + 64 - connections.count) }
            connections[Int(fd)] = connection
            engine.counters.connectionsOpen += 1
            engine.counters.connectionsTotal += 1
            setInterest(connection, cepoll_in | cepoll_rdhup)
        }
    }

    func readFrom(_ connection: Connection) {
        guard connection.canProcess, !connection.peerClosed else { return }
        if connection.tls != nil { return readTLS(connection) }
        let count = readBuffer.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            return closeConnection(connection)
        }
        connection.lastActiveMillis = monotonicMillis()
        if count == 0 {
            connection.peerClosed = true
        } else {
            readBuffer.withUnsafeBytes { connection.framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        process(connection)
    }

    /// Runs the connection's complete lines through the engine, as far as its bounds allow.
    /// Once stopping, nothing new runs: only replies already owed are sent.
    func process(_ connection: Connection) {
        while !stopping, connection.canProcess, let framed = connection.framer.next() {
            let startMicros = monotonicMicros()
            switch framed {
            case .line(let line):
                connection.lastLineMillis = startMicros / 1000
                engine.handle(line: line, session: &connection.session, out: &connection.held)
            case .tooLong: engine.handleTooLong(out: &connection.held)
            }
            markReply(connection, verb: engine.lastVerbSlot, startMicros: startMicros)
        }
        if !stopping && connection.peerClosed && connection.canProcess && connection.framer.hasPartialLine
            && !connection.framer.isDiscardingLongLine {
            ReplyEncoder.error(tag: nil, code: ErrorCode.badRequest.rawValue,
                               message: "incomplete line at end of input", into: &connection.held)
            markReply(connection, verb: HeldMark.noRequest, startMicros: monotonicMicros())
            connection.framer = LineFramer()
        }
        if !connection.heldMarks.isEmpty { waiting.insert(connection.fd) }
        if connection.isDrained && (connection.session.closing || connection.peerClosed) {
            return closeConnection(connection)
        }
        updateInterest(connection)
    }

    func writeTo(_ connection: Connection) {
        if connection.tls != nil {
            guard writeTLS(connection) else { return }
        } else {
            while connection.readyOffset < connection.ready.count {
                let written = connection.ready.withUnsafeBytes { buffer in
                    send(connection.fd, buffer.baseAddress! + connection.readyOffset,
                         buffer.count - connection.readyOffset, Int32(MSG_NOSIGNAL))
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { break }
                    return closeConnection(connection)
                }
                connection.readyOffset += written
            }
        }
        if connection.readyOffset == connection.ready.count {
            connection.ready.removeAll(keepingCapacity: true)
            connection.readyOffset = 0
        }
        if connection.isDrained && (connection.session.closing || connection.peerClosed) {
            return closeConnection(connection)
        }
        process(connection)
    }

    /// Sends every reply whose journal records are now durable. Writing may let a connection
    /// process requests that waited behind its bounds; replies among those that need no new
    /// journal record (reads, errors) are durable at once, so this repeats until nothing moves.
    private func releaseDurable() {
        let lone = waiting.count == 1 ? waiting.first : nil
        defer {
            // Answered, and still open: its next request may come soon.
            if let lone, waiting.isEmpty, connection(lone) != nil, config.eventLoopSpinMicros > 0 {
                answeredLoneMicros = monotonicMicros()
            }
        }
        var moved = true
        while moved && !waiting.isEmpty {
            moved = false
            let durable = engine.journal.durableLSN
            let nowMicros = monotonicMicros()
            for fd in waiting {
                guard let connection = connection(fd) else { waiting.remove(fd); continue }
                let before = connection.heldMarks.count
                connection.release(durable: durable) { mark, logFields in
                    noteReleased(mark, logFields: logFields, nowMicros: nowMicros)
                }
                if connection.heldMarks.count != before { moved = true }
                if connection.heldMarks.isEmpty { waiting.remove(fd) }
                if connection.readyOffset < connection.ready.count { writeTo(connection) }
            }
            engine.journal.flush()
        }
    }

    /// Marks the reply just appended to `held`: the LSN it waits for, and what STATS and the
    /// request log need when it is released.
    private func markReply(_ connection: Connection, verb: Int, startMicros: Int64) {
        let logFields = verb == HeldMark.noRequest ? nil : engine.requestLogFields(session: connection.session)
        if let logFields { connection.pendingLog.append(logFields) }
        connection.heldMarks.append(HeldMark(lsn: engine.appliedLSN, end: connection.held.count, verb: verb,
                                             startMicros: startMicros, logged: logFields != nil))
    }

    /// Counts a released reply's latency and writes its request log line, if it has one.
    private func noteReleased(_ mark: HeldMark, logFields: [(String, String)]?, nowMicros: Int64) {
        guard mark.verb != HeldMark.noRequest else { return }
        let micros = nowMicros - mark.startMicros
        engine.stats.noteLatency(verb: mark.verb, micros: micros)
        if let logFields { Log.request(logFields + [("latency_us", String(micros))]) }
    }

    // MARK: Timers and signals

    /// Whether to poll instead of sleeping: while one connection's replies (or up to
    /// `event_loop_spin_connections` connections') wait for a commit already in flight, for up
    /// to `event_loop_spin_us` per commit; and, once a lone connection has all its replies, for
    /// up to `event_loop_spin_us` for its next request. Waking the loop (through the eventfd, or
    /// by a request arriving) costs tens of microseconds on a virtual machine, which a lone till
    /// would wait for twice per change. With more connections waiting the loop sleeps: polling
    /// then took the CPU the clients needed (BENCHMARKS.md).
    private func keepPolling() -> Bool {
        if answeredLoneMicros != 0 {
            if waiting.isEmpty && monotonicMicros() - answeredLoneMicros < Int64(config.eventLoopSpinMicros) { return true }
            answeredLoneMicros = 0  // expired, or some connection waits again
        }
        let durable = engine.journal.durableLSN
        guard config.eventLoopSpinMicros > 0, !waiting.isEmpty, waiting.count <= config.eventLoopSpinConnections,
              durable < engine.appliedLSN else {
            spinStartMicros = 0
            return false
        }
        let now = monotonicMicros()
        if spinStartMicros == 0 || durable != spinStartDurable {
            spinStartMicros = now
            spinStartDurable = durable
        }
        return now - spinStartMicros < Int64(config.eventLoopSpinMicros)
    }

    private func timeoutMillis() -> Int64 {
        if !tlsBuffered.isEmpty { return 0 }
        var timeout = EventLoop.tickMillis
        if let deadline = engine.ledger.nextDeadline {
            timeout = min(timeout, max(0, deadline.millis - Instant.wallClock().millis))
        }
        return timeout
    }

    private func tick() {
        engine.sweep(now: Instant.wallClock())
        engine.journal.flush()
        let now = monotonicMillis()
        guard now - lastTickMillis >= EventLoop.tickMillis else { return }
        lastTickMillis = now
        if memoryRelease.releaseDue(refCount: engine.ledger.refCount, nowMillis: now) {
            engine.shrinkSparseTables()  // first, so malloc_trim also returns the old tables
            releaseFreedMemory(reason: "refs forgotten")
        }
        let idleMillis = config.idleTimeout.value * 1000
        let lineMillis = config.lineTimeout.value * 1000
        let handshakeMillis = config.tls.handshakeTimeout.value * 1000
        for case let connection? in connections {
            if let tls = connection.tls, !tls.isEstablished, now - connection.lastLineMillis > handshakeMillis {
                // lastLineMillis is still the accept time: no line can arrive before the handshake ends.
                Log.write(.warn, "closing TLS connection: handshake not finished in time", ["peer": connection.peer])
                engine.counters.tlsHandshakeFailures += 1
                closeConnection(connection)
            } else if now - connection.lastActiveMillis > idleMillis && connection.isDrained {
                Log.write(.info, "closing idle connection", ["peer": connection.peer])
                closeConnection(connection)
            } else if connection.framer.hasPartialLine && now - connection.lastLineMillis > lineMillis {
                Log.write(.warn, "closing connection: line unfinished too long", ["peer": connection.peer])
                closeConnection(connection)
            }
        }
    }

    private func handleSignals() {
        while true {
            let signal = cepoll_read_signal(signalFD)
            if signal <= 0 { return }
            if signal == SIGHUP {
                onReload()
            } else {
                Log.write(.info, "stopping", ["signal": String(signal)])
                stopping = true
            }
        }
    }

    /// Graceful stop: accept and read nothing more, make everything applied durable, send what is
    /// owed, and close.
    private func drainAndClose() {
        listeners.closeAll()
        engine.journal.flush()
        while engine.journal.durableLSN < engine.appliedLSN { usleep(200) }
        releaseDurable()
        let deadline = monotonicMillis() + EventLoop.drainMillis
        while monotonicMillis() < deadline, connections.contains(where: { $0 != nil && $0!.readyOffset < $0!.ready.count }) {
            for case let connection? in connections { writeTo(connection) }
            usleep(1000)
        }
        for case let connection? in connections {
            // Half-close first and drop unread input, so the peer reads every reply before the
            // close instead of a reset caused by requests it pipelined after the stop.
            connection.tls?.sendCloseNotify()
            shutdown(connection.fd, Int32(SHUT_WR))
            var discard = [UInt8](repeating: 0, count: 4096)
            while recv(connection.fd, &discard, discard.count, Int32(MSG_DONTWAIT)) > 0 {}
            closeConnection(connection)
        }
    }

    // MARK: Plumbing

    func connection(_ fd: Int32) -> Connection? {
        Int(fd) < connections.count ? connections[Int(fd)] : nil
    }

    func updateInterest(_ connection: Connection) {
        var wanted: UInt32 = 0
        if connection.canProcess && !connection.peerClosed { wanted |= cepoll_in | cepoll_rdhup }
        if connection.readyOffset < connection.ready.count { wanted |= cepoll_out }
        if connection.tls != nil { wanted |= tlsInterest(connection) }
        setInterest(connection, wanted)
    }

    private func setInterest(_ connection: Connection, _ wanted: UInt32) {
        guard wanted != connection.interest else { return }
        let op: Int32 = wanted == 0 ? 2 : (connection.interest == 0 ? 0 : 1)
        if cepoll_ctl(epollFD, op, connection.fd, wanted) != 0 {
            Log.write(.warn, "epoll_ctl failed", ["error": errnoText()])
        }
        connection.interest = wanted
    }

    func closeConnection(_ connection: Connection) {
        guard connections[Int(connection.fd)] === connection else { return }
        _ = cepoll_ctl(epollFD, 2, connection.fd, 0)
        if let tls = connection.tls {
            tls.sendCloseNotify()
            tlsBuffered.remove(connection.fd)
        }
        close(connection.fd)
        connections[Int(connection.fd)] = nil
        waiting.remove(connection.fd)
        connectionsByAddress[connection.peer, default: 1] -= 1
        if connectionsByAddress[connection.peer] == 0 { connectionsByAddress[connection.peer] = nil }
        engine.counters.connectionsOpen -= 1
    }
}

/// Milliseconds on the monotonic clock, for timeouts that wall-clock jumps must not affect.
func monotonicMillis() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}

/// Microseconds on the monotonic clock, for request latencies.
func monotonicMicros() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
}

/// The current errno as text.
func errnoText() -> String {
    String(cString: strerror(errno))
}

/// Logs and exits non-zero: for errors after which continuing could lose or invent money.
func fatal(_ message: String) -> Never {
    Log.write(.error, message)
    exit(70)
}

/// A start-up or runtime failure with a message fit to print.
public struct ServerError: Error, CustomStringConvertible {
    /// What failed.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
