// Connection: one client socket's buffers — bytes in, replies waiting for durability, bytes out.

import CreditCore
import CreditProtocol
import CreditTLS

/// One client connection. Replies are produced in request order into `held`, each marked with the
/// journal LSN that must be durable before it may be sent; `release` moves durable replies to
/// `ready`, which the event loop writes to the socket.
final class Connection {
    /// Replies a connection may have waiting (pipelined requests not yet answered): enough for
    /// deep pipelining, small enough that one client cannot hold much memory.
    static let pipelineDepthMax = 1024
    /// Reply bytes a connection may have unsent before the daemon stops reading from it (a
    /// client that sends but does not read).
    static let outputBytesMax = 1 << 20

    let fd: Int32
    let peer: String
    var framer = LineFramer()
    var session: Session
    /// Replies not yet durable.
    var held: [UInt8] = []
    /// For each reply in `held`: the LSN it waits for, where it ends, and what STATS needs.
    var heldMarks: [HeldMark] = []
    /// Request log lines (fields without the latency) of held replies whose mark is `logged`,
    /// in order; empty unless `request_log` is on.
    var pendingLog: [[(String, String)]] = []
    /// Durable replies not yet written, from `readyOffset` on.
    var ready: [UInt8] = []
    var readyOffset = 0
    /// Monotonic milliseconds of the last byte received.
    var lastActiveMillis: Int64
    /// Monotonic milliseconds of the last complete line: a half line older than the line
    /// timeout is a slowloris, not a slow till.
    var lastLineMillis: Int64
    /// The peer closed its sending side; close once every reply is written.
    var peerClosed = false
    /// The epoll interest currently registered.
    var interest: UInt32 = 0
    /// The TLS session for a connection accepted on the TLS port; nil on the plaintext port,
    /// whose reads and writes never look further than this check.
    let tls: TLSSession?
    /// The last TLS read or handshake step stopped until the socket is writable.
    var tlsReadWantsWrite = false
    /// The last TLS write stopped until the socket is readable.
    var tlsWriteWantsRead = false

    init(fd: Int32, peer: String, now: Int64, tls: TLSSession? = nil) {
        self.fd = fd
        self.tls = tls
        self.peer = peer
        self.session = Session(peer: peer)
        self.lastActiveMillis = now
        self.lastLineMillis = now
    }

    /// True while more requests may be processed without exceeding the per-connection bounds.
    var canProcess: Bool {
        !session.closing && heldMarks.count < Connection.pipelineDepthMax
            && held.count + ready.count - readyOffset < Connection.outputBytesMax
    }

    /// True when nothing remains to be written.
    var isDrained: Bool { heldMarks.isEmpty && readyOffset == ready.count }

    /// Moves every reply whose LSN is durable to the ready buffer, keeping request order, and
    /// shows each released mark (with its request log fields, if logged) to `observe`.
    func release(durable: UInt64, observe: (HeldMark, [(String, String)]?) -> Void) {
        var count = 0
        var cut = 0
        var logged = 0
        while count < heldMarks.count, heldMarks[count].lsn <= durable {
            let mark = heldMarks[count]
            cut = mark.end
            count += 1
            if mark.logged {
                observe(mark, pendingLog[logged])
                logged += 1
            } else {
                observe(mark, nil)
            }
        }
        guard count > 0 else { return }
        if logged > 0 { pendingLog.removeFirst(logged) }
        if readyOffset == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyOffset = 0
        }
        ready.append(contentsOf: held[0..<cut])
        if cut == held.count {
            held.removeAll(keepingCapacity: true)
            heldMarks.removeAll(keepingCapacity: true)
        } else {
            held.removeFirst(cut)
            heldMarks.removeFirst(count)
            for index in heldMarks.indices { heldMarks[index].end -= cut }
        }
    }
}

/// One reply waiting in a connection's `held` buffer.
struct HeldMark {
    /// The journal LSN that must be durable before the reply may be sent.
    var lsn: UInt64
    /// Where the reply ends in `held`.
    var end: Int
    /// The request's verb slot in `RequestStats`, or `HeldMark.noRequest` for a reply to no
    /// request (the incomplete-line error at end of input).
    var verb: Int
    /// Monotonic microseconds when the request line was taken, for its latency.
    var startMicros: Int64
    /// Whether a request log line for it waits in the connection's `pendingLog`.
    var logged: Bool

    /// The `verb` of a reply that answers no request.
    static let noRequest = -1
}
