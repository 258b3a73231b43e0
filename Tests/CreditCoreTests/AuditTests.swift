// Proves the ledger's audit finds nothing in states the commands make, and names each problem in a state restored from a tampered snapshot: a balance that its history does not add up to, a held amount that its pending legs do not, a broken history chain, a pending list that disagrees with the holds, an overdrawn credit, a hold on an unknown credit or capturing more than its leg.

import CreditCore
import Testing

/// A ledger with a bit of everything: bonus store credit, FX profile hold partly captured, a
/// pending hold, a refund, a split, a claim, a cancel, a reversal and a PIN lock.
private func busyLedger() throws -> Harness {
    var h = Harness(policy: Fixture.fxPolicy)
    let store = try h.newCredit(.store, "20", profile: "cust-1", bonus: "5")
    _ = try h.newCredit(.gift, "10", "NZD", profile: "cust-1")
    _ = try #require(h.hold(profile: "cust-1", "30", ref: "h-1").appliedReply)
    _ = try #require(h.capture(HoldID(1), "26").appliedReply)
    let gift = try h.newGift("50", purchaser: "cust-1", recipient: .unknown, claim: claimCode(1))
    _ = try h.newHold(gift, "5")
    _ = try #require(h.claim(claimCode(1), for: "cust-2").appliedReply)
    _ = try #require(h.transfer(gift, to: "cust-3", "10").appliedReply)
    _ = try #require(h.refund(store, "3", ref: "r-1").appliedReply)
    _ = try #require(h.reverse("r-1").appliedReply)
    let card = h.nextCard()
    let locked = try h.newCredit(.gift, "7", card: card)
    for _ in 0..<3 { h.balance(card: card, pin: Fixture.wrongPIN) }
    _ = try #require(h.change(locked, .cancel).appliedReply)
    return h
}

@Test func theAuditFindsNothingInStatesTheCommandsMake() throws {
    #expect(Ledger(policy: Fixture.policy).auditProblems.isEmpty)
    var h = try busyLedger()
    #expect(h.ledger.auditProblems.isEmpty)
    h.advance(millis: 3_600_000)
    _ = h.sweep()
    #expect(h.ledger.auditProblems.isEmpty)
    #expect(Ledger(policy: Fixture.fxPolicy, state: h.ledger.canonicalState).auditProblems.isEmpty)
}

@Test func aTamperedBalanceIsFound() throws {
    var h = try busyLedger()
    let credit = try h.credit(CreditID(1))
    h.restore(adding: tampered(credit, balance: credit.balance + MinorUnits(100)))
    #expect(h.ledger.auditProblems == ["credit cr_1: balance \(credit.balance.value + 100) but history ends at \(credit.balance.value)"])
}

@Test func aTamperedHeldAmountIsFound() throws {
    var h = try busyLedger()
    let gift = try h.credit(CreditID(3))
    #expect(gift.held == MinorUnits(500))
    h.restore(adding: tampered(gift, held: MinorUnits(400)))
    #expect(h.ledger.auditProblems == ["credit cr_3: held 400 but pending legs sum to 500"])
}

@Test func aBrokenHistoryChainIsFound() throws {
    var h = try busyLedger()
    let credit = try h.credit(CreditID(1))
    var history = credit.history
    let bonus = history[1]
    #expect(bonus.kind == .bonus && bonus.balanceAfter == MinorUnits(2500))
    history[1] = Activity(seq: bonus.seq, at: bonus.at, kind: bonus.kind, amount: bonus.amount + MinorUnits(1),
                          balanceAfter: bonus.balanceAfter, hold: bonus.hold, ref: bonus.ref)
    h.restore(adding: tampered(credit, history: history))
    #expect(h.ledger.auditProblems == ["credit cr_1: history seq 2 says balance 2500, the chain gives 2501"])
}

@Test func aPendingHoldCountThatDisagreesWithTheHoldsIsFound() throws {
    var h = try busyLedger()
    let gift = try h.credit(CreditID(3))
    #expect(try h.pendingHolds(gift.id) == [HoldID(2)])
    h.restore(adding: tampered(gift, pendingHoldCount: 0))
    #expect(h.ledger.auditProblems == ["credit cr_3: counts 0 pending holds, the holds 1"])
    h.restore(adding: tampered(gift, pendingHoldCount: 2))
    #expect(h.ledger.auditProblems == ["credit cr_3: counts 2 pending holds, the holds 1"])
}

@Test func anOverdrawnCreditIsFound() throws {
    var h = try busyLedger()
    let gift = try h.credit(CreditID(3))
    // 5.00 held on 40.00: claim it all held, and the history and holds disagree too.
    h.restore(adding: tampered(gift, held: gift.balance + MinorUnits(1)))
    #expect(h.ledger.auditProblems == [
        "credit cr_3: held \(gift.balance.value + 1) but pending legs sum to 500",
        "credit cr_3: balance \(gift.balance.value) outside 0...100000 or overdrawn",
    ])
}

@Test func holdsNamingUnknownCreditsOrCapturingMoreThanTheirLegAreFound() throws {
    var h = try busyLedger()
    var state = h.ledger.canonicalState
    let captured = try #require(state.holds[HoldID(1)])
    state.holds[HoldID(1)] = Hold(id: captured.id, currency: captured.currency, requested: captured.requested,
                                  legs: Array(captured.legs), deadline: captured.deadline, state: .captured,
                                  captured: captured.legs.map { $0.amount + MinorUnits(1) })
    state.holds[HoldID(99)] = Hold(id: HoldID(99), currency: "AUD", requested: MinorUnits(1),
                                   legs: [HoldLeg(credit: CreditID(99), amount: MinorUnits(1), covers: MinorUnits(1), rate: nil)],
                                   deadline: Fixture.t0, state: .voided, captured: [.zero])
    h.ledger = Ledger(policy: Fixture.fxPolicy, state: state)
    let problems = h.ledger.auditProblems
    #expect(problems.count == captured.legs.count + 1)
    #expect(problems.contains("hold hd_99 names unknown credit cr_99"))
    for leg in captured.legs {
        #expect(problems.contains("hold hd_1 captured more than its leg on \(leg.credit)"))
    }
}
