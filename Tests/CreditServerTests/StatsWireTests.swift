// Proves STATS counts requests and errors per verb and per error code, histograms each verb's latency (bucket counts add up to the requests answered), and reports connections, group commit, journal, snapshot and spare snapshot sizes and pending holds as they are.

@testable import CreditTestSupport
import Foundation
import Testing

/// A STATS reply split into its per-verb items, per-code items and final fields.
private struct StatsReply {
    var verbs: [String: [String: String]] = [:]
    var codes: [String: Int] = [:]
    var fields: [String: String] = [:]

    init(_ lines: [String]) {
        for line in lines.dropLast() {
            let item = WireClient.fieldsOf(line)
            if let verb = item["verb"] { verbs[verb] = item }
            if let code = item["error"] { codes[code] = Int(item["count"]!) }
        }
        fields = WireClient.fieldsOf(lines.last!)
    }

    func requests(_ verb: String) -> Int { Int(verbs[verb]?["requests"] ?? "") ?? -1 }
    func buckets(_ verb: String) -> [Int] { (verbs[verb]?["latency_buckets"] ?? "").split(separator: ",").map { Int($0)! } }
}

@Test func statsCountsEveryVerbErrorAndLatency() throws {
    let daemon = try Daemon(extraConfig: "snapshot_every = 1000")
    let admin = try daemon.connect(as: "dev-admin")
    let card = try admin.issueGift(amount: "50.00", ref: "st-1")
    let pos = try daemon.connect(as: "dev-pos")
    let hold = try pos.ok("HOLD card=\(card.card) pin=\(card.pin) amount=5.00 currency=AUD ref=st-h1")
    _ = try pos.ok("HOLD card=\(card.card) pin=\(card.pin) amount=1.00 currency=AUD ref=st-h2")
    _ = try pos.ok("CAPTURE hold=\(hold["hold"]!) amount=2.00 ref=st-c1")
    #expect(try pos.request("BALANCE card=\(card.card) pin=0000") == ["ERR DECLINED card declined"])
    #expect(try pos.request("FROB").first?.hasPrefix("ERR UNKNOWN_VERB") == true)
    #expect(try pos.request("STATS").first?.hasPrefix("ERR FORBIDDEN") == true)
    _ = try pos.request("PING")
    _ = try pos.request("PING")

    let reply = try admin.request("STATS")
    #expect(reply.last?.hasPrefix("OK ") == true, "\(reply)")
    let stats = StatsReply(reply)
    // Every verb of HELP and every error code has a line, whether or not it was used.
    #expect(stats.verbs.count == 28 + 1, "every verb and UNKNOWN: \(stats.verbs.keys.sorted())")
    #expect(stats.codes.count == 30)
    #expect(stats.requests("AUTH") == 2 && stats.requests("ISSUE") == 1 && stats.requests("HOLD") == 2)
    #expect(stats.requests("CAPTURE") == 1 && stats.requests("BALANCE") == 1 && stats.requests("PING") == 2)
    #expect(stats.requests("UNKNOWN") == 1 && stats.requests("STATS") == 2 && stats.requests("VOID") == 0)
    #expect(stats.verbs["BALANCE"]?["errors"] == "1" && stats.verbs["STATS"]?["errors"] == "1")
    #expect(stats.codes["DECLINED"] == 1 && stats.codes["UNKNOWN_VERB"] == 1 && stats.codes["FORBIDDEN"] == 1)
    #expect(stats.codes["NOT_FOUND"] == 0)
    #expect(stats.fields["requests"] == "12" && stats.fields["errors"] == "3", "\(stats.fields)")
    // Latency: one histogram entry per answered request (this STATS is not answered yet).
    let bounds = stats.fields["latency_bounds_us"]!.split(separator: ",").map { Int($0)! }
    #expect(bounds == bounds.sorted() && bounds.count == 15)
    for verb in ["AUTH", "ISSUE", "HOLD", "CAPTURE", "BALANCE", "PING", "UNKNOWN"] {
        let buckets = stats.buckets(verb)
        #expect(buckets.count == bounds.count + 1, "\(verb)")
        #expect(buckets.reduce(0, +) == stats.requests(verb), "\(verb): \(buckets)")
        #expect(Int(stats.verbs[verb]!["latency_p99_us"]!)! >= Int(stats.verbs[verb]!["latency_p50_us"]!)!)
    }
    #expect(stats.buckets("STATS").reduce(0, +) == 1, "the earlier, refused STATS")
    #expect(Int(stats.verbs["HOLD"]!["latency_sum_us"]!)! > 0)
    // Daemon-wide counters.
    #expect(stats.fields["connections"] == "2" && stats.fields["connections_total"] == "2")
    #expect(stats.fields["pending_holds"] == "1" && stats.fields["credits"] == "1")
    #expect(stats.fields["journal_records"] == "5", "ISSUE, two HOLDs, CAPTURE, the wrong PIN's count")
    let fsyncs = Int(stats.fields["fsyncs"]!)!
    #expect(fsyncs >= 1 && fsyncs <= 5)
    #expect(Double(stats.fields["ops_per_fsync"]!)! >= 1.0)
    #expect(stats.fields["journal_segments"] == "1" && Int(stats.fields["journal_disk_bytes"]!)! > 0)
    #expect(stats.fields["snapshot_lsn"] == "0" && stats.fields["snapshot_bytes"] == "0")
    #expect(stats.fields["snapshot_spare_bytes"] == "0")

    // After a snapshot (BACKUP takes one) its size and LSN show, and the journal restarts.
    _ = try admin.ok("BACKUP")
    let after = StatsReply(try admin.request("STATS"))
    #expect(after.fields["snapshot_lsn"] == "5" && Int(after.fields["snapshot_bytes"]!)! > 28, "\(after.fields)")
    #expect(Int(after.fields["snapshot_age_seconds"]!)! <= 5)
    #expect(after.requests("BACKUP") == 1 && after.buckets("STATS").reduce(0, +) == 2)
    #expect(after.fields["snapshot_spare_bytes"] == "0", "nothing replaced yet")

    // A second snapshot, after another change, replaces the first, whose file is kept as the spare.
    _ = try admin.issueGift(amount: "5.00", ref: "st-2")
    _ = try admin.ok("BACKUP")
    let second = StatsReply(try admin.request("STATS"))
    #expect(second.fields["snapshot_spare_bytes"] == after.fields["snapshot_bytes"], "\(second.fields)")
}

@Test func statsCountsRefusedConnectionsAndLineTooLong() throws {
    let daemon = try Daemon(extraConfig: "max_connections = 2")
    let admin = try daemon.connect(as: "dev-admin")
    let other = try daemon.connect()
    let refused = try daemon.connect()
    #expect(try refused.readLine() == "ERR BUSY too many connections")
    try other.send(String(repeating: "A", count: 3000) + "\n")
    #expect(try other.readReply() == ["ERR LINE_TOO_LONG request lines are limited to 1024 bytes"])
    let stats = StatsReply(try admin.request("STATS"))
    #expect(stats.fields["connections_refused"] == "1")
    #expect(stats.codes["LINE_TOO_LONG"] == 1 && stats.requests("UNKNOWN") == 1)
}
