// Proves the request log writes one logfmt line per request (verb, key, result and code, latency, ref) with card numbers masked to their last four digits and no PIN, and that SIGHUP turns it on and off and changes the log level.

@testable import CreditTestSupport
import Foundation
import Glibc
import Testing

/// The `msg=request` lines of a log.
private func requestLines(_ log: String) -> [[String: String]] {
    log.split(separator: "\n").map(String.init).filter { $0.contains(" msg=request ") }.map(WireClient.fieldsOf)
}

/// Polls until `condition` holds (the daemon logs a reply when it releases it), at most ~5 s.
private func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<250 {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

@Test func requestLogLinesMaskCardsAndNameResults() throws {
    let daemon = try Daemon(extraConfig: "request_log = on")
    let admin = try daemon.connect(as: "dev-admin")
    let card = try admin.issueGift(amount: "20.00", ref: "rl-issue")
    let pos = try daemon.connect(as: "dev-pos")
    _ = try pos.ok("HOLD card=\(card.card) pin=\(card.pin) amount=5.00 currency=AUD ref=rl-hold")
    #expect(try pos.request("#t9 BALANCE card=\(card.card) pin=0000").first?.contains(" DECLINED ") == true)
    // A careless till puts the card number in its ref: the log masks that too.
    _ = try pos.request("HOLD card=\(card.card) pin=\(card.pin) amount=1.00 currency=AUD ref=sale-\(card.card)")
    #expect(eventually { requestLines(daemon.log).count >= 6 })
    let lines = requestLines(daemon.log)
    let hold = try #require(lines.first { $0["ref"] == "rl-hold" })
    #expect(hold["verb"] == "HOLD" && hold["key"] == "dev-pos" && hold["result"] == "OK" && hold["code"] == nil)
    #expect(hold["card"] == String(repeating: "*", count: 12) + card.card.suffix(4))
    #expect(Int(hold["latency_us"] ?? "") ?? -1 >= 0 && hold["amount"] == "5.00" && hold["currency"] == "AUD")
    let declined = try #require(lines.first { $0["verb"] == "BALANCE" })
    #expect(declined["result"] == "ERR" && declined["code"] == "DECLINED" && declined["tag"] == "t9")
    #expect(lines.contains { $0["ref"] == "sale-" + String(repeating: "*", count: 12) + card.card.suffix(4) })
    #expect(lines.contains { $0["verb"] == "AUTH" && $0["key"] == "dev-admin" && $0["secret"] == nil })
    #expect(lines.contains { $0["verb"] == "ISSUE" && $0["ref"] == "rl-issue" })
    let text = daemon.log
    #expect(!text.contains(card.card) && !text.contains("pin=") && !text.contains(card.pin) && !text.contains("dev-admin-secret"))
}

@Test func sighupTogglesTheRequestLogAndTheLogLevel() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    _ = try admin.request("PING")
    let config = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
    // On, and only warnings and errors besides.
    try (config + "\nrequest_log = on\nlog_level = warn\n").write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
    daemon.send(signal: SIGHUP)
    #expect(eventually {
        _ = try? admin.request("PING")
        return !requestLines(daemon.log).isEmpty
    })
    _ = try admin.ok("BACKUP")
    #expect(eventually { requestLines(daemon.log).contains { $0["verb"] == "BACKUP" } })
    #expect(!daemon.log.contains("msg=\"backup written\""), "info lines are off at log_level = warn")
    #expect(try daemon.connect().request("AUTH key=dev-admin secret=wrong").first?.hasPrefix("ERR AUTH_FAILED") == true)
    #expect(eventually { daemon.log.contains("msg=\"auth failed\"") }, "warnings still are")
    // Off again, info back.
    try (config + "\nrequest_log = off\nlog_level = info\n").write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
    daemon.send(signal: SIGHUP)
    #expect(eventually { daemon.log.contains("msg=reloaded") })
    let before = requestLines(daemon.log).count
    _ = try admin.request("PING")
    _ = try admin.ok("BACKUP")
    #expect(eventually { daemon.log.contains("msg=\"backup written\"") })
    #expect(requestLines(daemon.log).count == before)
}

@Test func aBadLogLevelIsRefusedAtStart() throws {
    let daemon = try Daemon(extraConfig: "log_level = loud", start: false)
    let result = try daemon.runToExit()
    #expect(result.status == 1 && result.output.contains("log_level is debug, info, warn or error"), "\(result)")
}
