// Proves at the wire that guessing claim codes is throttled like card cracking: every wrong, used or malformed code gets the same DECLINED, a connection is closed after its 10th decline, a key that causes 200 declines in a minute over many connections gets BUSY for codes (even the right one) while its other requests and other keys go on, and both are logged.

@testable import CreditTestSupport
import Glibc
import Testing

/// The `index`th code of the issued alphabet and length that differs from `code` in its first symbol.
private func wrongCode(near code: String, _ index: Int) -> String {
    let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    var suffix = ""
    var rest = index
    repeat {
        suffix = String(alphabet[rest % 32]) + suffix
        rest /= 32
    } while rest > 0
    return (code.first == "Z" ? "Y" : "Z") + String(code.dropFirst().dropLast(suffix.count)) + suffix
}

@Test func wrongClaimCodesAreDeclinedAlikeAndTheTenthClosesTheConnection() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    let gift = "ISSUE type=gift currency=AUD purchaser=buyer recipient=unknown"
    let pending = try #require(try admin.ok("\(gift) amount=10.00 ref=t-1")["claim"])
    let used = try #require(try admin.ok("\(gift) amount=20.00 ref=t-2")["claim"])
    #expect(try admin.ok("CLAIM code=\(used) profile=first ref=t-3")["profile"] == "first")

    // Never issued, already used, malformed, empty-looking, over-long: one reply for all.
    let wrong = [wrongCode(near: pending, 1), used, used.lowercased(), "x", String(repeating: "0", count: 20),
                 String(repeating: "Z", count: 200), "!!", wrongCode(near: pending, 2), "AAAA-BBBB", wrongCode(near: pending, 3)]
    let portal = try daemon.connect(as: "dev-portal")
    for (index, code) in wrong.enumerated() {
        #expect(try portal.request("CLAIM code=\(code) profile=guesser ref=t-g\(index)") == ["ERR DECLINED claim code declined"],
                "code \(code)")
    }
    #expect(try portal.isClosedByServer(), "the 10th declined code closes the connection")
    for _ in 0..<200 where !daemon.log.contains("closing connection") { usleep(10_000) }  // stderr is read by another thread
    #expect(daemon.log.contains("closing connection: too many declined cards or codes") && daemon.log.contains("dev-portal"),
            "log: \(daemon.log)")

    // Only that connection: the recipient, on another, claims with the right code.
    let recipient = try daemon.connect(as: "dev-portal")
    #expect(try recipient.ok("CLAIM code=\(pending.lowercased()) profile=rec ref=t-4")["profile"] == "rec")
    daemon.stop()
}

@Test func aKeyGuessingClaimCodesOverManyConnectionsIsThrottledAndLogged() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    let issue = "ISSUE type=gift amount=10.00 currency=AUD purchaser=buyer recipient=unknown ref=k-1"
    let code = try #require(try admin.ok(issue)["claim"])
    // 20 connections of one key, 10 wrong codes each (each connection is closed after its 10th).
    var guess = 0
    for connection in 0..<20 {
        let portal = try daemon.connect(as: "dev-portal")
        for _ in 0..<10 {
            guess += 1
            let reply = try portal.request("CLAIM code=\(wrongCode(near: code, guess)) profile=guesser ref=k-g\(guess)")
            #expect(reply == ["ERR DECLINED claim code declined"], "guess \(guess) on connection \(connection)")
        }
    }
    // The key has caused 200 declines within the minute: codes get BUSY, even the right one.
    let portal = try daemon.connect(as: "dev-portal")
    let busy = ["ERR BUSY too many declined cards or codes from this key; wait a minute"]
    #expect(try portal.request("CLAIM code=\(code) profile=guesser ref=k-r1") == busy)
    #expect(try portal.request("BALANCE card=6000000000000000 pin=1234") == busy)
    // Its other requests, and other keys, are not affected.
    #expect(try portal.ok("CREDITS profile=buyer")["count"] == "1")
    let staff = try daemon.connect(as: "dev-staff")
    #expect(try staff.ok("CLAIM code=\(code) profile=rec ref=k-r2")["profile"] == "rec")
    for _ in 0..<200 where !daemon.log.contains("key throttled") { usleep(10_000) }
    let throttled = daemon.log.split(separator: "\n").filter { $0.contains("key throttled: too many declined cards or codes") }
    #expect(throttled.count == 1 && throttled[0].contains("dev-portal"), "log: \(daemon.log)")
    daemon.stop()
}
