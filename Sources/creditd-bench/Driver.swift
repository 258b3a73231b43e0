// Driver: one thread drives many connections with epoll, pipelining, and checks every reply.

import CEpoll
import Glibc

/// What one driver thread measured.
struct DriverResult {
    var histogram = Histogram()
    var ops = 0
    var errors = 0
    var samples: [String] = []
}

/// One connection's state inside a driver.
private final class Slot {
    let fd: Int32
    let index: Int
    var out: [UInt8] = []
    var outOffset = 0
    var input: [UInt8] = []
    var inputStart = 0
    /// Send (or intended send) times of the requests awaiting replies, oldest first.
    var started: [UInt64] = []
    var startedHead = 0
    /// Whether each awaiting request is a HOLD whose hold should then be captured.
    var isHold: [Bool] = []
    var captures: [Substring] = []
    var sequence = 0
    var nextIntended: UInt64 = 0
    var wantsWrite = false

    init(fd: Int32, index: Int) {
        self.fd = fd
        self.index = index
    }

    var outstanding: Int { started.count - startedHead }
}

/// Drives `connections` (already authenticated sockets) until `deadline` or `quota` operations,
/// keeping up to `pipeline` requests in flight per connection; with `interval` (µs between
/// requests per connection), sends at a fixed rate and measures from the intended send time.
func drive(_ sockets: [Int32], firstIndex: Int, options: Options, cards: [Card], runID: String,
           deadline: UInt64, quota: Int, interval: UInt64?) -> DriverResult {
    var result = DriverResult()
    let epfd = cepoll_create()
    let slots = sockets.enumerated().map { Slot(fd: $0.element, index: firstIndex + $0.offset) }
    var byFD: [Int32: Slot] = [:]
    let start = monotonicMicros()
    for slot in slots {
        _ = fcntl(slot.fd, F_SETFL, fcntl(slot.fd, F_GETFL) | O_NONBLOCK)
        _ = cepoll_ctl(epfd, 0, slot.fd, cepoll_in)
        byFD[slot.fd] = slot
        slot.nextIntended = start
    }
    var random = SystemRandomNumberGenerator()
    var events = [cepoll_event](repeating: cepoll_event(), count: 256)
    var sent = 0
    var running = true
    var stoppedSending: UInt64?
    while running {
        let now = monotonicMicros()
        let sending = now < deadline && sent < quota
        for slot in slots where sending {
            sent += fill(slot, options: options, cards: cards, runID: runID, now: now, interval: interval, random: &random)
            flush(slot, epfd: epfd, result: &result)
        }
        if !sending && stoppedSending == nil { stoppedSending = now }
        if !sending && slots.allSatisfy({ $0.outstanding == 0 }) { running = false; break }
        if let stoppedSending, now - stoppedSending > 10_000_000 {
            result.errors += 1
            result.samples.append("replies still missing 10 s after the end")
            break
        }
        let count = cepoll_wait(epfd, &events, Int32(events.count), interval == nil ? 5 : 1)
        for index in 0..<max(0, Int(count)) {
            guard let slot = byFD[events[index].fd] else { continue }
            if events[index].events & cepoll_out != 0 { flush(slot, epfd: epfd, result: &result) }
            if events[index].events & (cepoll_in | cepoll_hup | cepoll_err) != 0 {
                if !read(slot, options: options, result: &result) { running = false }
            }
        }
    }
    close(epfd)
    return result
}

/// Queues requests until the pipeline is full (or, at a fixed rate, until the next is not due).
private func fill(_ slot: Slot, options: Options, cards: [Card], runID: String, now: UInt64, interval: UInt64?,
                  random: inout SystemRandomNumberGenerator) -> Int {
    var queued = 0
    while slot.outstanding < options.pipeline {
        var when = now
        if let interval {
            guard slot.nextIntended <= now else { break }
            when = slot.nextIntended
            slot.nextIntended += interval
        }
        slot.sequence += 1
        if !slot.captures.isEmpty {
            let hold = slot.captures.removeFirst()
            slot.out += "CAPTURE hold=\(hold) amount=0.05 ref=\(runID)-\(slot.index)-c\(slot.sequence)\n".utf8
            slot.isHold.append(false)
        } else {
            let card = cards[Int.random(in: 0..<cards.count, using: &random)]
            switch options.mix {
            case "balance":
                slot.out += "BALANCE card=\(card.number) pin=\(card.pin)\n".utf8
            case "hold":
                slot.out += "HOLD card=\(card.number) pin=\(card.pin) amount=0.0\(Int.random(in: 1...9, using: &random)) currency=\(options.currency) ttl=1s ref=\(runID)-\(slot.index)-\(slot.sequence)\n".utf8
            default:
                slot.out += "HOLD card=\(card.number) pin=\(card.pin) amount=0.\(Int.random(in: 10...99, using: &random)) currency=\(options.currency) ref=\(runID)-\(slot.index)-\(slot.sequence)\n".utf8
            }
            slot.isHold.append(options.mix == "hold-capture")
        }
        slot.started.append(when)
        queued += 1
    }
    return queued
}

private func flush(_ slot: Slot, epfd: Int32, result: inout DriverResult) {
    while slot.outOffset < slot.out.count {
        let written = slot.out.withUnsafeBytes { send(slot.fd, $0.baseAddress! + slot.outOffset, $0.count - slot.outOffset, Int32(MSG_NOSIGNAL)) }
        if written < 0 {
            if errno == EINTR { continue }
            if errno != EAGAIN && errno != EWOULDBLOCK { result.errors += 1; result.samples.append("send failed") }
            break
        }
        slot.outOffset += written
    }
    if slot.outOffset == slot.out.count {
        slot.out.removeAll(keepingCapacity: true)
        slot.outOffset = 0
    }
    let wantsWrite = slot.outOffset < slot.out.count
    if wantsWrite != slot.wantsWrite {
        slot.wantsWrite = wantsWrite
        _ = cepoll_ctl(epfd, 1, slot.fd, wantsWrite ? cepoll_in | cepoll_out : cepoll_in)
    }
}

/// Reads what is there and accounts each final reply line; false if the connection failed.
private func read(_ slot: Slot, options: Options, result: inout DriverResult) -> Bool {
    var chunk = [UInt8](repeating: 0, count: 65536)
    let count = chunk.withUnsafeMutableBytes { recv(slot.fd, $0.baseAddress, $0.count, 0) }
    if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return true }
    guard count > 0 else {
        result.errors += 1
        result.samples.append("connection \(slot.index) closed by creditd")
        return false
    }
    slot.input += chunk[0..<count]
    let now = monotonicMicros()
    while let newline = slot.input[slot.inputStart...].firstIndex(of: 10) {
        let line = slot.input[slot.inputStart..<newline]
        slot.inputStart = newline + 1
        if line.first == UInt8(ascii: "*") { continue }
        guard slot.startedHead < slot.started.count else {
            result.errors += 1
            result.samples.append("unexpected reply")
            continue
        }
        result.histogram.record(now - slot.started[slot.startedHead])
        let wasHold = slot.isHold[slot.startedHead]
        slot.startedHead += 1
        result.ops += 1
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("OK") else {
            result.errors += 1
            if result.samples.count < 5 { result.samples.append(text) }
            continue
        }
        if wasHold, let hold = field("hold", in: text) { slot.captures.append(Substring(hold)) }
    }
    if slot.inputStart == slot.input.count {
        slot.input.removeAll(keepingCapacity: true)
        slot.inputStart = 0
    }
    if slot.startedHead > 4096 {
        slot.started.removeFirst(slot.startedHead)
        slot.isHold.removeFirst(slot.startedHead)
        slot.startedHead = 0
    }
    return true
}
