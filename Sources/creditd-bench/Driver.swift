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
    /// Hold ids (as sent back) still to capture, oldest first.
    var captures: [ArraySlice<UInt8>] = []
    var capturesHead = 0
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
    // Linux may fire a thread's timers up to 50 µs late by default; at a fixed rate that
    // lateness would count as the daemon's latency.
    if interval != nil && cepoll_set_timer_slack(1) != 0 {
        let message = "creditd-bench: timer slack unchanged (errno \(errno)); sends may be up to 50 µs late\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
    }
    let epfd = cepoll_create()
    let slots = sockets.enumerated().map { Slot(fd: $0.element, index: firstIndex + $0.offset) }
    var byFD = [Slot?](repeating: nil, count: Int(slots.map(\.fd).max() ?? 0) + 1)
    let start = monotonicMicros()
    for slot in slots {
        _ = fcntl(slot.fd, F_SETFL, fcntl(slot.fd, F_GETFL) | O_NONBLOCK)
        _ = cepoll_ctl(epfd, 0, slot.fd, cepoll_in)
        byFD[Int(slot.fd)] = slot
        // Connections start staggered across one interval, so that a fixed rate arrives evenly
        // rather than in bursts of one request per connection.
        slot.nextIntended = start + (interval ?? 0) * UInt64(slot.index) / UInt64(max(1, options.connections))
    }
    // The request text the cards need, built once: formatting it per request cost the load
    // generator CPU that this 2-core machine's daemon then lacks.
    let requests = RequestText(options: options, cards: cards, runID: runID)
    var random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
    var chunk = [UInt8](repeating: 0, count: 65536)
    var events = [cepoll_event](repeating: cepoll_event(), count: 256)
    var sent = 0
    var running = true
    var stoppedSending: UInt64?
    while running {
        let now = monotonicMicros()
        let sending = now < deadline && sent < quota
        for slot in slots where sending {
            sent += fill(slot, options: options, requests: requests, now: now, interval: interval, random: &random)
            flush(slot, epfd: epfd, result: &result)
        }
        if !sending && stoppedSending == nil { stoppedSending = now }
        if !sending && slots.allSatisfy({ $0.outstanding == 0 }) { running = false; break }
        if let stoppedSending, now - stoppedSending > 10_000_000 {
            result.errors += 1
            result.samples.append("replies still missing 10 s after the end")
            break
        }
        let count = cepoll_wait_micros(epfd, &events, Int32(events.count),
                                       waitMicros(slots, now: monotonicMicros(), interval: interval, sending: sending))
        for index in 0..<max(0, Int(count)) {
            let fd = Int(events[index].fd)
            guard fd < byFD.count, let slot = byFD[fd] else { continue }
            if events[index].events & cepoll_out != 0 { flush(slot, epfd: epfd, result: &result) }
            if events[index].events & (cepoll_in | cepoll_hup | cepoll_err) != 0 {
                if !read(slot, chunk: &chunk, result: &result) { running = false }
            }
        }
    }
    close(epfd)
    return result
}

/// How long to wait for replies before sending again: at a fixed rate, until the next request is
/// due, in microseconds (a millisecond timeout made requests late by up to a millisecond, and
/// their latency, measured from the intended send time, counted the generator's lateness as the
/// daemon's); otherwise 5 ms, as replies wake the wait anyway.
private func waitMicros(_ slots: [Slot], now: UInt64, interval: UInt64?, sending: Bool) -> Int64 {
    guard interval != nil, sending else { return 5_000 }
    var due = UInt64.max
    for slot in slots where slot.outstanding == 0 { due = min(due, slot.nextIntended) }
    guard due != UInt64.max else { return 5_000 }
    return due <= now ? 0 : Int64(min(due - now, 5_000))
}

/// Queues requests until the pipeline is full (or, at a fixed rate, until the next is not due).
private func fill(_ slot: Slot, options: Options, requests: RequestText, now: UInt64, interval: UInt64?,
                  random: inout SplitMix64) -> Int {
    var queued = 0
    while slot.outstanding < options.pipeline {
        var when = now
        if let interval {
            guard slot.nextIntended <= now else { break }
            when = slot.nextIntended
            slot.nextIntended += interval
        }
        slot.sequence += 1
        if slot.capturesHead < slot.captures.count {
            let hold = slot.captures[slot.capturesHead]
            slot.capturesHead += 1
            if slot.capturesHead == slot.captures.count {
                slot.captures.removeAll(keepingCapacity: true)
                slot.capturesHead = 0
            }
            slot.out += "CAPTURE hold=".utf8
            slot.out += hold
            slot.out += " amount=0.05".utf8
            requests.appendRef(slot: slot.index, sequence: slot.sequence, capture: true, to: &slot.out)
            slot.isHold.append(false)
        } else {
            let card = Int(random.next() % UInt64(requests.cardArguments.count))
            switch options.mix {
            case "balance":
                slot.out += "BALANCE ".utf8
                slot.out += requests.cardArguments[card]
                slot.out.append(10)
            case "hold":
                slot.out += "HOLD ".utf8
                slot.out += requests.cardArguments[card]
                slot.out += " amount=0.0".utf8
                slot.out.append(UInt8(ascii: "1") + UInt8(random.next() % 9))
                slot.out += requests.currencyArgument
                slot.out += " ttl=1s".utf8
                requests.appendRef(slot: slot.index, sequence: slot.sequence, capture: false, to: &slot.out)
            default:
                let cents = 10 + Int(random.next() % 90)
                slot.out += "HOLD ".utf8
                slot.out += requests.cardArguments[card]
                slot.out += " amount=0.".utf8
                slot.out.append(UInt8(ascii: "0") + UInt8(cents / 10))
                slot.out.append(UInt8(ascii: "0") + UInt8(cents % 10))
                slot.out += requests.currencyArgument
                requests.appendRef(slot: slot.index, sequence: slot.sequence, capture: false, to: &slot.out)
            }
            slot.isHold.append(options.mix == "hold-capture")
        }
        slot.started.append(when)
        queued += 1
    }
    return queued
}

/// The parts of request lines that do not change between requests, as bytes.
private struct RequestText {
    /// `card=… pin=…` of each card.
    let cardArguments: [[UInt8]]
    /// ` currency=…`.
    let currencyArgument: [UInt8]
    /// ` ref=<run id>-`.
    let refPrefix: [UInt8]

    init(options: Options, cards: [Card], runID: String) {
        cardArguments = cards.map { Array("card=\($0.number) pin=\($0.pin)".utf8) }
        currencyArgument = Array(" currency=\(options.currency)".utf8)
        refPrefix = Array(" ref=\(runID)-".utf8)
    }

    /// Appends ` ref=<run id>-<slot>-[c]<sequence>` and the newline: unique per request.
    func appendRef(slot: Int, sequence: Int, capture: Bool, to out: inout [UInt8]) {
        out += refPrefix
        appendDecimal(slot, to: &out)
        out.append(UInt8(ascii: "-"))
        if capture { out.append(UInt8(ascii: "c")) }
        appendDecimal(sequence, to: &out)
        out.append(10)
    }

    private func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = UInt64(value)
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }
}

/// SplitMix64: a fast, seeded generator for picking cards and amounts (the system generator made
/// a getrandom system call per number). Not for secrets.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
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
private func read(_ slot: Slot, chunk: inout [UInt8], result: inout DriverResult) -> Bool {
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
        guard line.starts(with: "OK ".utf8) || line.elementsEqual("OK".utf8) else {
            result.errors += 1
            if result.samples.count < 5 { result.samples.append(String(decoding: line, as: UTF8.self)) }
            continue
        }
        if wasHold {
            guard let hold = fieldValue("hold", in: line) else {
                result.errors += 1
                if result.samples.count < 5 { result.samples.append("HOLD reply without hold=: " + String(decoding: line, as: UTF8.self)) }
                continue
            }
            slot.captures.append(hold)
        }
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

/// The value of `key=` in a reply line's bytes (a copy, so the input buffer can be reused).
private func fieldValue(_ key: StaticString, in line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
    let keyBytes = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
    var index = line.startIndex
    while index < line.endIndex {
        let tokenEnd = line[index...].firstIndex(of: UInt8(ascii: " ")) ?? line.endIndex
        let token = line[index..<tokenEnd]
        if token.count > keyBytes.count, token.starts(with: keyBytes), token[index + keyBytes.count] == UInt8(ascii: "=") {
            return ArraySlice(Array(token[(index + keyBytes.count + 1)...]))
        }
        index = tokenEnd + 1
    }
    return nil
}
