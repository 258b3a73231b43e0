// Proves REVERSE undoes the same client's earlier request at most once: a pending hold is voided and a captured one is not reversible; a capture is refunded leg by leg in each credit's currency (FX legs too); an untouched issue or activation is cancelled, a touched one is not reversible; a load or refund is taken back only while available; an unknown ref becomes a tombstone that refuses its late original with REVERSED; a reversal is itself not reversible; refs are per client.

import CreditCore
import Testing

@Test func reversingAPendingHoldVoidsItOnce() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    _ = try #require(h.hold(id, "20", ref: "h-1").appliedReply)
    let reversed = h.reverse("h-1", ref: "rev-1")
    #expect(reversed.appliedReply?.fields == [Field("original", "h-1"), Field("effect", "voided")])
    #expect(reversed.entry?.events == [.voided(HoldID(1)), .markReversed(h.client, Ref("h-1")!)])
    #expect(reversed.entry?.idempotency?.action == RecordedAction.none)
    #expect(try h.holdRecord(HoldID(1)).state == .voided && h.credit(id).available == MinorUnits(5000))
    // At most once; and the retry of the REVERSE itself replays its reply.
    #expect(h.reverse("h-1").refusal == CreditError(.notReversible, "ref h-1 cannot be reversed"))
    #expect(h.reverse("h-1", ref: "rev-1").replayedReply == reversed.appliedReply)
    // The original's own retry still gets its original reply.
    #expect(h.hold(id, "20", ref: "h-1").replayedReply?.value("hold") == "hd_1")
}

@Test func reversingAHoldThatLapsedOrWasVoidedDoesNothingAndACapturedOneIsNotReversible() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    _ = try #require(h.hold(id, "5", ttl: Seconds(60), ref: "lapsed").appliedReply)
    _ = try #require(h.hold(id, "5", ref: "voided").appliedReply)
    _ = try #require(h.hold(id, "5", ref: "captured").appliedReply)
    _ = try #require(h.void(HoldID(2)).appliedReply)
    _ = try #require(h.capture(HoldID(3)).appliedReply)
    h.advance(millis: 60_000)  // the first is past its deadline, not yet swept
    let lapsed = h.reverse("lapsed")
    #expect(lapsed.appliedReply?.value("effect") == "none")
    #expect(lapsed.entry?.events == [.markReversed(h.client, Ref("lapsed")!)])
    #expect(h.reverse("voided").appliedReply?.value("effect") == "none")
    #expect(h.reverse("captured").refusal == CreditError(.notReversible, "hold hd_3 was captured; reverse the CAPTURE's ref"))
}

@Test func reversingACaptureRefundsEachLegInItsCreditsCurrency() throws {
    var h = Harness(policy: Fixture.fxPolicy)
    let promo = try h.newCredit(.promo, "10", "NZD", profile: "cust-1")
    let store = try h.newCredit(.store, "20", profile: "cust-1")
    let gift = try h.newCredit(.gift, "500", "JPY", profile: "cust-1")
    _ = try #require(h.hold(profile: "cust-1", "30", ref: "h-1").appliedReply)
    let hold = try h.holdRecord(HoldID(1))
    #expect(hold.legs.map(\.credit) == [promo, store, gift])
    let captured = h.capture(HoldID(1), "25", ref: "c-1")
    let legs = try #require(captured.entry.flatMap { entry -> [CapturedLeg]? in
        if case .captured(_, let legs) = entry.events.first { return legs } else { return nil }
    })
    #expect(legs.last?.amount == .zero)  // the JPY leg was not reached
    let balances = try [promo, store, gift].map { try h.credit($0).balance }

    let reversed = h.reverse("c-1")
    #expect(reversed.appliedReply?.value("effect") == "refunded")
    #expect(reversed.entry?.events == [.reversal(promo, delta: legs[0].amount), .reversal(store, delta: legs[1].amount),
                                       .markReversed(h.client, Ref("c-1")!)])
    #expect(try h.credit(promo).balance == balances[0] + legs[0].amount && h.credit(promo).balance == MinorUnits(1000))
    #expect(try h.credit(store).balance == MinorUnits(2000) && h.credit(gift).balance == MinorUnits(500))
    #expect(try h.credit(promo).history.last == Activity(seq: 4, at: Fixture.t0, kind: .reversal, amount: legs[0].amount,
                                                         balanceAfter: MinorUnits(1000), hold: nil, ref: Ref("auto-4")))
    #expect(h.reverse("c-1").code == .notReversible)
    #expect(h.ledger.auditProblems.isEmpty)
}

@Test func aCaptureOntoACancelledCreditIsNotReversible() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    _ = try #require(h.hold(id, "20", ref: "h-1").appliedReply)
    _ = try #require(h.capture(HoldID(1), ref: "c-1").appliedReply)
    _ = try #require(h.change(id, .cancel).appliedReply)
    #expect(h.reverse("c-1").refusal == CreditError(.notReversible, "credit cr_1 can no longer take the value back"))
}

@Test func anUntouchedIssueOrActivationIsCancelledATouchedOneIsNotReversible() throws {
    var h = Harness()
    _ = try #require(h.issue(.store, "50", profile: "cust-1", bonus: "5", ref: "i-1").appliedReply)
    let reversed = h.reverse("i-1")
    #expect(reversed.appliedReply?.fields == [Field("original", "i-1"), Field("effect", "cancelled")])
    #expect(reversed.entry?.events == [.cancelled(CreditID(1), reason: "reversal of i-1"), .markReversed(h.client, Ref("i-1")!)])
    #expect(try h.credit(CreditID(1)).status == .cancelled && h.credit(CreditID(1)).balance == .zero)

    _ = try #require(h.issue(.gift, "50", ref: "i-2").appliedReply)
    _ = try #require(h.void(try h.newHold(CreditID(2), "1")).appliedReply)
    #expect(h.reverse("i-2").refusal == CreditError(.notReversible, "credit was used after i-2; refund or cancel it instead"))

    let (_, cards) = h.stock(2)
    _ = try #require(h.activate(cards[0], "30", ref: "a-1").appliedReply)
    _ = try #require(h.activate(cards[1], "30", ref: "a-2").appliedReply)
    _ = try #require(h.load(cards[1], "5").appliedReply)
    #expect(h.reverse("a-1").appliedReply?.value("effect") == "cancelled")
    #expect(try h.credit(CreditID(3)).history.last?.amount == MinorUnits(3000))  // the activation's value written off
    #expect(h.reverse("a-2").code == .notReversible)  // loaded again since
    // A credit with a pending hold is in use.
    _ = try #require(h.issue(.gift, "50", ref: "i-3").appliedReply)
    _ = try h.newHold(CreditID(5), "1")
    #expect(h.reverse("i-3").code == .notReversible)
}

@Test func aLoadOrRefundIsTakenBackOnlyWhileItsValueIsAvailable() throws {
    var h = Harness()
    let (_, cards) = h.stock(1)
    _ = try #require(h.activate(cards[0], "20").appliedReply)
    _ = try #require(h.load(cards[0], "30", ref: "l-1").appliedReply)
    _ = try #require(h.refund(CreditID(1), "10", ref: "r-1").appliedReply)
    let hold = try h.newHold(CreditID(1), "35")
    #expect(h.reverse("l-1").refusal == CreditError(.notReversible, "the value of l-1 is no longer available"))
    let takenBack = h.reverse("r-1")
    #expect(takenBack.appliedReply?.fields == [Field("original", "r-1"), Field("effect", "taken_back")])
    #expect(takenBack.entry?.events == [.reversal(CreditID(1), delta: MinorUnits(-1000)), .markReversed(h.client, Ref("r-1")!)])
    #expect(try h.credit(CreditID(1)).balance == MinorUnits(5000) && h.credit(CreditID(1)).available == MinorUnits(1500))
    _ = try #require(h.void(hold).appliedReply)
    #expect(h.reverse("l-1").appliedReply?.value("effect") == "taken_back")  // a refused REVERSE is not remembered
    #expect(try h.credit(CreditID(1)).balance == MinorUnits(2000))
    #expect(try h.credit(CreditID(1)).history.last?.amount == MinorUnits(-3000))
    #expect(h.history(CreditID(1)).readReply?.items.last?[3] == Field("amount", "-30.00"))
    #expect(h.ledger.auditProblems.isEmpty)
}

@Test func aRefundOntoACancelledCreditIsNotTakenBack() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    _ = try #require(h.refund(id, "10", ref: "r-1").appliedReply)
    _ = try #require(h.change(id, .cancel).appliedReply)
    #expect(h.reverse("r-1").code == .notReversible)
}

@Test func anUnknownRefBecomesATombstoneThatRefusesItsLateOriginal() throws {
    var h = Harness()
    let tombstone = h.reverse("late-1", ref: "rev-1")
    #expect(tombstone.appliedReply?.fields == [Field("original", "late-1"), Field("effect", "none"), Field("tombstone", "yes")])
    #expect(tombstone.entry?.events == [.tombstone(h.client, Ref("late-1")!)])
    #expect(h.ledger.refCount == 2)  // the tombstone and the REVERSE's own ref
    let before = h.ledger.canonicalState
    let late = h.issue(.gift, "50", ref: "late-1")
    #expect(late.refusal == CreditError(.reversed, "ref late-1 was reversed before it arrived; nothing was done"))
    #expect(h.issue(.store, "1", profile: "p", ref: "late-1").code == .reversed)  // whatever its arguments
    #expect(h.ledger.canonicalState == before && h.ledger.creditCount == 0)
    // A tombstone is not reversible, and the REVERSE that made it neither.
    #expect(h.reverse("late-1").code == .notReversible)
    #expect(h.reverse("rev-1").code == .notReversible)
}

@Test func refsArePerClientForReverseToo() throws {
    var h = Harness()
    let (till, other) = (ClientID("till-1"), ClientID("till-2"))
    let id = try h.newCredit(.gift, "50")
    _ = try #require(h.hold(id, "20", ref: "h-1").appliedReply)
    // The other till's "h-1" is unknown: a tombstone for that till only.
    #expect(h.reverse("h-1", client: other).appliedReply?.value("tombstone") == "yes")
    #expect(try h.holdRecord(HoldID(1)).state == .pending)
    let hold = Command.hold(HoldCommand(selector: .credit(id), amount: amount("1"), currency: "AUD", ttl: nil, partial: false))
    #expect(h.run(hold, ref: "h-1", client: other).code == .reversed)
    #expect(h.reverse("h-1", client: till).appliedReply?.value("effect") == "voided")
}

@Test func aReversalOfAnythingElseIsNotReversible() throws {
    var h = Harness()
    let id = try h.newCredit(.gift, "50")
    _ = try #require(h.replace(id, ref: "x-1").appliedReply)
    _ = try #require(h.transfer(id, to: "cust-2", ref: "t-1").appliedReply)
    _ = try #require(h.change(id, .freeze, ref: "f-1").appliedReply)
    for ref in ["f-1", "x-1", "t-1"] {
        #expect(h.reverse(ref).refusal == CreditError(.notReversible, "ref \(ref) cannot be reversed"))
    }
}
