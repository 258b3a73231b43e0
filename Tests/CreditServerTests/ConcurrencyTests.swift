// Proves 32 tills racing holds, captures and voids on one card can never overdraw it: every reply is OK or an expected refusal, available never goes negative, and the history sums exactly to the acknowledged captures.

@testable import CreditTestSupport
import Foundation
import Testing

/// What the racing tills saw.
private struct RaceLog {
    /// Cents of every acknowledged CAPTURE.
    var captured: [Int] = []
    var holdsPlaced = 0
    var holdsRefused = 0
    var partialHolds = 0
    var voids = 0
    /// Every `available=` the daemon replied, in cents (nil when it did not parse as a non-negative amount).
    var availables: [Int?] = []
    /// Replies or failures no rule allows.
    var unexpected: [String] = []
}

/// One till: `rounds` times, HOLD a random amount (every third with partial=yes), then CAPTURE
/// part of it or VOID it; now and then a BALANCE. A till names the card with its PIN.
private func runTill(_ daemon: Daemon, card: IssuedCard, till: Int, rounds: Int, log: Locked<RaceLog>) {
    do {
        let client = try daemon.connect(as: "dev-pos")
        for round in 0..<rounds {
            let requested = Int.random(in: 1...1000)
            let partial = round % 3 == 0
            let holdLine = "HOLD card=\(card.card) pin=\(card.pin) amount=\(amountText(requested)) currency=AUD ref=t\(till)-h\(round)"
                + (partial ? " partial=yes" : "")
            let hold = try client.request(holdLine)
            guard let final = hold.last, final.hasPrefix("OK") else {
                if hold.count == 1, hold[0].hasPrefix("ERR INSUFFICIENT_FUNDS ") {
                    log.with { $0.holdsRefused += 1 }
                } else {
                    log.with { $0.unexpected.append("\(holdLine) → \(hold)") }
                }
                continue
            }
            let fields = client.fields(final)
            guard let id = fields["hold"], let held = cents(fields["amount"]) else {
                log.with { $0.unexpected.append("\(holdLine) → \(hold)") }
                continue
            }
            let heldOK = partial ? (held >= 1 && held <= requested) : held == requested
            log.with {
                $0.holdsPlaced += 1
                if held < requested { $0.partialHolds += 1 }
                $0.availables.append(cents(fields["available"]))
                if !heldOK || fields["requested"] != amountText(requested) { $0.unexpected.append("\(holdLine) → \(final)") }
            }

            if round % 4 == 1 {
                let line = "VOID hold=\(id) ref=t\(till)-v\(round)"
                let reply = try client.request(line)
                let expected = ["OK hold=\(id) released=\(amountText(held)) currency=AUD"]
                log.with {
                    if reply == expected { $0.voids += 1 } else { $0.unexpected.append("\(line) → \(reply)") }
                }
            } else {
                let take = Int.random(in: 1...min(held, 50))
                let whole = round % 5 == 0 && held <= 50
                let line = "CAPTURE hold=\(id)" + (whole ? "" : " amount=\(amountText(take))") + " ref=t\(till)-c\(round)"
                let captured = whole ? held : take
                let reply = try client.request(line)
                let replyFields = client.fields(reply.last ?? "")
                log.with {
                    if reply.count == 1, reply[0].hasPrefix("OK hold=\(id) captured=\(amountText(captured)) released=\(amountText(held - captured)) balance="),
                       cents(replyFields["balance"]) != nil {
                        $0.captured.append(captured)
                    } else {
                        $0.unexpected.append("\(line) → \(reply)")
                    }
                }
            }

            if round % 5 == 2 {
                let balance = client.fields(try client.request("BALANCE card=\(card.card) pin=\(card.pin)").last ?? "")
                let (total, reserved, available) = (cents(balance["balance"]), cents(balance["held"]), cents(balance["available"]))
                let consistent = total != nil && reserved != nil && available != nil && total! - reserved! == available!
                log.with {
                    $0.availables.append(available)
                    if !consistent { $0.unexpected.append("BALANCE → \(balance)") }
                }
            }
        }
    } catch {
        log.with { $0.unexpected.append("till \(till): \(error)") }
    }
}

@Test func thirtyTwoTillsRacingOnOneCardNeverOverdrawIt() throws {
    let daemon = try Daemon()
    let admin = try daemon.connect(as: "dev-admin")
    let card = try admin.issueGift(amount: "100.00", ref: "race-card")
    let issued = 10_000

    // 32 × 15 rounds keeps the whole history (≤ 1 + 2 × 480 activities) within HISTORY's limit of 1000.
    let tills = 32
    let rounds = 15
    let log = Locked(RaceLog())
    runThreads(tills) { till in runTill(daemon, card: card, till: till, rounds: rounds, log: log) }
    let race = log.with { $0 }

    #expect(race.unexpected.isEmpty, "\(race.unexpected.prefix(10))")
    #expect(race.holdsPlaced + race.holdsRefused == tills * rounds)
    #expect(race.holdsPlaced == race.captured.count + race.voids)
    #expect(race.availables.allSatisfy { $0 != nil }, "an available= was negative or malformed")
    // The race really contended: the card ran short at least once.
    #expect(race.holdsRefused + race.partialHolds > 0)

    let capturedTotal = race.captured.reduce(0, +)
    let balance = admin.fields(try #require(try admin.request("BALANCE credit=cr_1").last))
    #expect(cents(balance["balance"]) == issued - capturedTotal)
    #expect(balance["held"] == "0.00")
    #expect(balance["available"] == balance["balance"])
    #expect(try admin.ok("STATS")["pending_holds"] == "0")

    // Walk the history: the balance-after chain, each hold resolved once, and available ≥ 0 at every step.
    let (items, final) = try admin.history("cr_1", limit: 1000)
    #expect(final == "OK credit=cr_1 currency=AUD count=\(1 + 2 * race.holdsPlaced)")
    #expect(items.first?["kind"] == "issue" && cents(items.first?["balance"]) == issued)
    var running = issued
    var pending: [String: Int] = [:]
    var historyCaptures: [Int] = []
    for (index, item) in items.enumerated().dropFirst() {
        guard let amount = cents(item["amount"]), let after = cents(item["balance"]), let hold = item["hold"] else {
            Issue.record("malformed activity \(item)")
            continue
        }
        switch item["kind"] {
        case "hold":
            #expect(pending[hold] == nil, "hold \(hold) placed twice")
            pending[hold] = amount
        case "capture":
            let reserved = pending.removeValue(forKey: hold)
            #expect(reserved != nil && amount <= reserved!, "capture \(item) of hold reserving \(String(describing: reserved))")
            running -= amount
            historyCaptures.append(amount)
        case "void":
            #expect(pending.removeValue(forKey: hold) == amount, "void \(item)")
        default:
            Issue.record("unexpected activity \(item)")
        }
        #expect(after == running, "activity \(index): balance-after \(after), expected \(running)")
        #expect(running - pending.values.reduce(0, +) >= 0, "available went negative at activity \(index)")
        #expect(item["ref"] != nil)
    }
    #expect(pending.isEmpty, "unresolved holds \(pending)")
    #expect(historyCaptures.count == race.captured.count)
    #expect(historyCaptures.reduce(0, +) == capturedTotal)
    #expect(running == issued - capturedTotal)
    #expect(cents(items.last?["balance"]) == issued - capturedTotal)
    #expect(Set(items.compactMap { $0["ref"] }).count == items.count, "every activity has its own ref")
    #expect(daemon.stop() == 0)
}
