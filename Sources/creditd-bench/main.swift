// creditd-bench: drives a running creditd with N connections and reports throughput and latency.

import Foundation
import Glibc

let usage = """
    usage: creditd-bench [--host H] [--port P] [--key ID --secret S] [--connections N] [--pipeline P]
                         [--mix hold-capture|hold|balance] [--cards N] [--duration SECONDS | --requests N]
                         [--rate OPS_PER_SECOND] [--currency CODE] [--threads T]
    Issues --cards gift cards, then runs the mix against random cards until the duration or request
    count is reached, checking every reply. T threads (default 1) each drive their share of the
    connections with epoll. Latency is measured from the intended send time when --rate is given
    (so stalls are not hidden), else from the actual send time.
    """

/// The run's settings.
struct Options {
    var host = "127.0.0.1"
    var port = 7878
    var key = "dev-admin"
    var secret = "dev-admin-secret"
    var connections = 16
    var pipeline = 1
    var mix = "hold-capture"
    var cards = 1000
    var durationSeconds = 10.0
    var requests: Int?
    var rate: Double?
    var currency = "AUD"
    var threads = 1

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var index = 1
        while index < arguments.count {
            let flag = arguments[index]
            if flag == "--help" || flag == "-h" { print(usage); exit(0) }
            guard index + 1 < arguments.count else { throw BenchError("\(flag) needs a value\n\(usage)") }
            let value = arguments[index + 1]
            func number<T: LosslessStringConvertible>(_: T.Type) throws -> T {
                guard let parsed = T(value) else { throw BenchError("\(flag) needs a number, got \(value)") }
                return parsed
            }
            switch flag {
            case "--host": options.host = value
            case "--port": options.port = try number(Int.self)
            case "--key": options.key = value
            case "--secret": options.secret = value
            case "--connections": options.connections = try number(Int.self)
            case "--pipeline": options.pipeline = try number(Int.self)
            case "--mix": options.mix = value
            case "--cards": options.cards = try number(Int.self)
            case "--duration": options.durationSeconds = try number(Double.self)
            case "--requests": options.requests = try number(Int.self)
            case "--rate": options.rate = try number(Double.self)
            case "--currency": options.currency = value
            case "--threads": options.threads = try number(Int.self)
            default: throw BenchError("unknown option \(flag)\n\(usage)")
            }
            index += 2
        }
        guard ["hold-capture", "hold", "balance"].contains(options.mix) else { throw BenchError("unknown mix \(options.mix)") }
        guard options.connections >= 1, options.pipeline >= 1, options.cards >= 1, options.threads >= 1 else {
            throw BenchError("--connections, --pipeline, --cards and --threads must be at least 1")
        }
        guard options.rate == nil || options.pipeline == 1 else { throw BenchError("--rate needs --pipeline 1") }
        options.threads = min(options.threads, options.connections)
        return options
    }
}

/// A gift card issued for the run.
struct Card: Sendable {
    let number: String
    let pin: String
}

/// What all worker threads report, merged under a lock.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var histogram = Histogram()
    private(set) var ops = 0
    private(set) var errors = 0
    private(set) var errorSamples: [String] = []

    func add(_ histogram: Histogram, ops: Int, errors: Int, samples: [String]) {
        lock.lock()
        defer { lock.unlock() }
        self.histogram.merge(histogram)
        self.ops += ops
        self.errors += errors
        errorSamples += samples.prefix(max(0, 5 - errorSamples.count))
    }
}

func authenticate(_ connection: BenchConnection, _ options: Options) throws {
    try connection.write(Array("AUTH key=\(options.key) secret=\(options.secret)\n".utf8))
    let reply = try connection.readFinalLine()
    guard reply.hasPrefix("OK") else { throw BenchError("AUTH failed: \(reply)") }
}

/// Issues the cards, pipelined 64 at a time.
func issueCards(_ options: Options, runID: String) throws -> [Card] {
    let connection = try BenchConnection(host: options.host, port: options.port)
    try authenticate(connection, options)
    var cards: [Card] = []
    cards.reserveCapacity(options.cards)
    while cards.count < options.cards {
        let batch = min(64, options.cards - cards.count)
        var bytes: [UInt8] = []
        for index in 0..<batch {
            bytes += "ISSUE type=gift amount=5000 currency=\(options.currency) ref=\(runID)-issue-\(cards.count + index)\n".utf8
        }
        try connection.write(bytes)
        for _ in 0..<batch {
            let reply = try connection.readFinalLine()
            guard reply.hasPrefix("OK"), let number = field("card", in: reply), let pin = field("pin", in: reply) else {
                throw BenchError("ISSUE failed: \(reply)")
            }
            cards.append(Card(number: number, pin: pin))
        }
    }
    return cards
}

func stats(_ options: Options) throws -> [String: String] {
    let connection = try BenchConnection(host: options.host, port: options.port)
    try authenticate(connection, options)
    try connection.write(Array("STATS\n".utf8))
    let reply = try connection.readFinalLine()
    var fields: [String: String] = [:]
    for token in reply.split(separator: " ") where token.contains("=") {
        let parts = token.split(separator: "=", maxSplits: 1)
        fields[String(parts[0])] = String(parts[1])
    }
    return fields
}

func run() throws {
    let options = try Options.parse(CommandLine.arguments)
    let runID = "b" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    FileHandle.standardError.write(Data("creditd-bench: issuing \(options.cards) gift cards...\n".utf8))
    let cards = try issueCards(options, runID: runID)
    let before = try stats(options)
    let results = Results()
    var sockets: [Int32] = []
    var connections: [BenchConnection] = []
    for _ in 0..<options.connections {
        let connection = try BenchConnection(host: options.host, port: options.port)
        try authenticate(connection, options)
        connections.append(connection)
        sockets.append(connection.fd)
    }
    let startMicros = monotonicMicros()
    let deadline = options.requests == nil ? startMicros + UInt64(options.durationSeconds * 1_000_000) : UInt64.max
    let quota = options.requests ?? Int.max
    let interval = options.rate.map { UInt64(1_000_000.0 * Double(options.connections) / $0) }
    let finished = DispatchGroup()
    let perThread = (options.connections + options.threads - 1) / options.threads
    for first in stride(from: 0, to: options.connections, by: perThread) {
        let share = Array(sockets[first..<min(first + perThread, sockets.count)])
        let threadQuota = quota == Int.max ? Int.max : max(1, quota * share.count / options.connections)
        finished.enter()
        let thread = Thread {
            let result = drive(share, firstIndex: first, options: options, cards: cards, runID: runID,
                               deadline: deadline, quota: threadQuota, interval: interval)
            results.add(result.histogram, ops: result.ops, errors: result.errors, samples: result.samples)
            finished.leave()
        }
        thread.start()
    }
    finished.wait()
    withExtendedLifetime(connections) {}
    let elapsed = Double(monotonicMicros() - startMicros) / 1_000_000
    let after = try stats(options)
    let fsyncs = (Int(after["fsyncs"] ?? "0") ?? 0) - (Int(before["fsyncs"] ?? "0") ?? 0)
    let histogram = results.histogram
    func fixed(_ value: Double) -> String { String(format: "%.1f", value) }
    print("creditd-bench mix=\(options.mix) connections=\(options.connections) pipeline=\(options.pipeline) cards=\(options.cards)"
          + (options.rate.map { " rate=\(Int($0))/s" } ?? ""))
    print("elapsed_s=\(fixed(elapsed)) ops=\(results.ops) ops_per_s=\(fixed(Double(results.ops) / elapsed)) errors=\(results.errors)")
    print("fsyncs=\(fsyncs) fsyncs_per_s=\(fixed(Double(fsyncs) / elapsed)) ops_per_fsync=\(fixed(fsyncs > 0 ? Double(results.ops) / Double(fsyncs) : 0))")
    print("latency_us p50=\(histogram.quantile(0.5)) p99=\(histogram.quantile(0.99)) p99.9=\(histogram.quantile(0.999)) max=\(histogram.maxValue)")
    for sample in results.errorSamples { print("error_sample: \(sample)") }
    if results.errors > 0 { exit(1) }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("creditd-bench: \(error)\n".utf8))
    exit(2)
}
