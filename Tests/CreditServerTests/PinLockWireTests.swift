// Proves at the wire that a PIN lock reveals nothing about whether a card number exists: a real card and a well-formed number that is no card get the same replies, line for line, to pin_attempts_max + 1 wrong PINs (DECLINED, then CARD_LOCKED), and a locked unknown number stays locked after a restart.

@testable import CreditTestSupport
import Testing

/// `prefix` (digits) completed with its Luhn check digit: a well-formed card number.
private func withCheckDigit(_ prefix: String) -> String {
    let digits = prefix.compactMap(\.wholeNumberValue)
    var sum = 0
    for (offset, digit) in digits.reversed().enumerated() {
        // The check digit will be rightmost, so the digit next to it is doubled.
        let value = offset % 2 == 0 ? digit * 2 : digit
        sum += value > 9 ? value - 9 : value
    }
    return prefix + String((10 - sum % 10) % 10)
}

/// A reply with its lock's end replaced by a placeholder: the two sequences run a moment apart.
private func withoutTime(_ reply: [String]) -> String {
    let line = reply.joined(separator: "\n")
    guard let range = line.range(of: "until ") else { return line }
    return String(line[..<range.upperBound]) + "<time>"
}

/// Wrong-PIN BALANCE and HOLD requests, alternating, on a connection of its own (ten declines
/// close a connection), and the replies.
private func wrongPINs(_ daemon: Daemon, card: String, pin: String, count: Int, refPrefix: String) throws -> [[String]] {
    let pos = try daemon.connect(as: "dev-pos")
    return try (0..<count).map { attempt in
        attempt % 2 == 0
            ? try pos.request("BALANCE card=\(card) pin=\(pin)")
            : try pos.request("HOLD card=\(card) pin=\(pin) amount=1.00 currency=AUD ref=\(refPrefix)-\(attempt)")
    }
}

@Test func aRealCardAndAnUnknownNumberGiveTheSameRepliesToWrongPINs() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    let card = try admin.issueGift(amount: "100.00", ref: "issue-1")
    let lastPinDigit = card.pin.last!.wholeNumberValue!
    let wrongPin = String(card.pin.dropLast()) + String((lastPinDigit + 1) % 10)
    var unknown = withCheckDigit(String(card.card.dropLast(2)) + String((card.card.dropLast().last!.wholeNumberValue! + 1) % 10))
    if unknown == card.card { unknown = withCheckDigit(String(card.card.dropLast(3)) + "00") }
    #expect(withCheckDigit(String(card.card.dropLast())) == card.card, "the check digit is computed as the server's")
    #expect(unknown != card.card && unknown.count == card.card.count)

    let attempts = 3 + 1  // pin_attempts_max (the default 3), then one more
    let real = try wrongPINs(daemon, card: card.card, pin: wrongPin, count: attempts, refPrefix: "real")
    let stranger = try wrongPINs(daemon, card: unknown, pin: wrongPin, count: attempts, refPrefix: "unknown")
    #expect(real.map(withoutTime) == stranger.map(withoutTime), "real \(real), unknown \(stranger)")
    let declined = "ERR DECLINED card declined"
    let locked = "ERR CARD_LOCKED card locked after too many wrong PINs until <time>"
    #expect(stranger.map(withoutTime) == [declined, declined, declined, locked], "\(stranger)")

    // The right PIN does not help either while locked, and the unknown number's lock outlives a restart.
    let pos = try daemon.connect(as: "dev-pos")
    #expect(withoutTime(try pos.request("BALANCE card=\(card.card) pin=\(card.pin)")) == locked)
    daemon.stop()
    try daemon.start()
    let again = try daemon.connect(as: "dev-pos")
    #expect(try again.request("BALANCE card=\(unknown) pin=\(card.pin)") == stranger[3])
    daemon.stop()
}
