// Proves the README's `nc` story works on the wire reply by reply, and that after kill -9 or SIGTERM a restarted daemon shows the identical state.

@testable import CreditTestSupport
import Foundation
import Testing

/// Whether a digit string passes the Luhn check.
private func luhnValid(_ digits: String) -> Bool {
    var sum = 0
    for (index, character) in digits.reversed().enumerated() {
        guard var digit = character.wholeNumberValue else { return false }
        if index % 2 == 1 {
            digit *= 2
            if digit > 9 { digit -= 9 }
        }
        sum += digit
    }
    return sum % 10 == 0
}

/// Plays the README transcript, checking every reply, and returns the card it issued.
private func playStory(_ daemon: Daemon) throws -> IssuedCard {
    let client = try daemon.connect()
    #expect(try client.request("AUTH key=dev-admin secret=dev-admin-secret") == ["OK role=admin"])

    let issued = try client.request("ISSUE type=gift amount=50.00 currency=AUD ref=sale-1001")
    #expect(issued.count == 1)
    let issue = client.fields(try #require(issued.last))
    let card = try #require(issue["card"])
    let pin = try #require(issue["pin"])
    #expect(card.count == 16 && card.allSatisfy(\.isASCII) && card.allSatisfy(\.isNumber), "card \(card)")
    #expect(card.hasPrefix("6"))
    #expect(luhnValid(card), "card \(card) fails the Luhn check")
    #expect(pin.count == 6 && pin.allSatisfy(\.isNumber), "pin \(pin)")
    #expect(issued == ["OK credit=cr_1 type=gift balance=50.00 currency=AUD card=\(card) pin=\(pin)"])

    #expect(try client.request("BALANCE card=\(card) pin=\(pin)")
        == ["OK credit=cr_1 type=gift balance=50.00 held=0.00 available=50.00 currency=AUD status=active"])

    let before = Date()
    let hold = try client.request("HOLD card=\(card) pin=\(pin) amount=20 currency=AUD ref=till3-77")
    let holdLine = try #require(hold.last)
    #expect(hold.count == 1)
    #expect(holdLine.hasPrefix("OK hold=hd_1 credit=cr_1 amount=20.00 requested=20.00 currency=AUD available=30.00 expires="))
    let expires = try #require(client.fields(holdLine)["expires"])
    let deadline = try #require(ISO8601DateFormatter().date(from: expires), "expires=\(expires)")
    // Default ttl 15m, rounded up to the second.
    #expect(deadline.timeIntervalSince(before) >= 899 && deadline.timeIntervalSince(before) <= 905, "expires=\(expires)")

    #expect(try client.request("CAPTURE hold=hd_1 amount=5.50 ref=till3-78")
        == ["OK hold=hd_1 captured=5.50 released=14.50 balance=44.50 currency=AUD"])

    let partial = try #require(try client.request("HOLD credit=cr_1 amount=100 currency=AUD partial=yes ref=till3-79").last)
    #expect(partial.hasPrefix("OK hold=hd_2 credit=cr_1 amount=44.50 requested=100.00 currency=AUD available=0.00 expires="))
    #expect(try client.request("BALANCE credit=cr_1")
        == ["OK credit=cr_1 type=gift balance=44.50 held=44.50 available=0.00 currency=AUD status=active"])

    #expect(try client.request("VOID hold=hd_2 ref=till3-80") == ["OK hold=hd_2 released=44.50 currency=AUD"])

    let (items, final) = try client.history("cr_1", limit: 100)
    #expect(final == "OK credit=cr_1 currency=AUD count=5")
    #expect(items.map { $0["seq"] } == ["1", "2", "3", "4", "5"])
    #expect(items.map { $0["kind"] } == ["issue", "hold", "capture", "hold", "void"])
    #expect(items.map { $0["amount"] } == ["50.00", "20.00", "5.50", "44.50", "44.50"])
    #expect(items.map { $0["balance"] } == ["50.00", "50.00", "44.50", "44.50", "44.50"])
    #expect(items.map { $0["hold"] } == [nil, "hd_1", "hd_1", "hd_2", "hd_2"])
    #expect(items.map { $0["ref"] } == ["sale-1001", "till3-77", "till3-78", "till3-79", "till3-80"])
    #expect(items.allSatisfy { $0["at"]?.hasSuffix("Z") == true })

    #expect(try client.request("BALANCE card=\(card) pin=\(pin)")
        == ["OK credit=cr_1 type=gift balance=44.50 held=0.00 available=44.50 currency=AUD status=active"])
    #expect(try client.request("QUIT") == ["OK"])
    return IssuedCard(credit: "cr_1", card: card, pin: pin)
}

/// Every reply that shows the story's state: balance by card and by id, the history, and the
/// replay of a ref from before the restart.
private func observe(_ daemon: Daemon, _ card: IssuedCard) throws -> [[String]] {
    let client = try daemon.connect(as: "dev-admin")
    return [
        try client.request("BALANCE card=\(card.card) pin=\(card.pin)"),
        try client.request("BALANCE credit=cr_1"),
        try client.request("HISTORY credit=cr_1"),
        try client.request("CAPTURE hold=hd_1 amount=5.50 ref=till3-78"),
    ]
}

/// After the restart the daemon continues: new ids follow the recovered ones.
private func continueAfterRestart(_ daemon: Daemon, _ card: IssuedCard) throws {
    let client = try daemon.connect(as: "dev-pos")
    let hold = try client.ok("HOLD card=\(card.card) pin=\(card.pin) amount=4.50 currency=AUD ref=after-restart")
    #expect(hold["hold"] == "hd_3")
    #expect(hold["available"] == "40.00")
    #expect(try client.ok("CAPTURE hold=hd_3 ref=after-restart-capture")["balance"] == "40.00")
    let (items, _) = try daemon.connect(as: "dev-admin").history("cr_1")
    #expect(items.map { $0["seq"] } == ["1", "2", "3", "4", "5", "6", "7"])
}

@Test func readmeStorySurvivesKill9() throws {
    let daemon = try Daemon()
    let card = try playStory(daemon)
    let before = try observe(daemon, card)
    #expect(before[0] == ["OK credit=cr_1 type=gift balance=44.50 held=0.00 available=44.50 currency=AUD status=active"])
    #expect(before[3] == ["OK hold=hd_1 captured=5.50 released=14.50 balance=44.50 currency=AUD"])

    daemon.kill9()
    try daemon.start()
    #expect(try observe(daemon, card) == before)
    try continueAfterRestart(daemon, card)
}

@Test func readmeStorySurvivesGracefulStop() throws {
    let daemon = try Daemon()
    let card = try playStory(daemon)
    let before = try observe(daemon, card)

    #expect(daemon.stop() == 0)
    #expect(daemon.log.contains("msg=stopped"))
    try daemon.start()
    #expect(try observe(daemon, card) == before)
    try continueAfterRestart(daemon, card)
    #expect(daemon.stop() == 0)
}
