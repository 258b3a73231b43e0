// Proves the gift card flows: a card for an unknown recipient is claimed once with the right code (a wrong one is declined) and only then leaves its purchaser's profile, and is never the purchaser's tender; a smart card reverts to its purchaser at its deadline unless a capture used it, waiting for pending holds and reverting right after the last one resolves; STOCK, ACTIVATE, LOAD, REPLACE and TRANSFER follow their rules and errors, and REPLACE clears a PIN lock.

import CreditCore
import Testing

// MARK: Claims

@Test func aCardForAnUnknownRecipientStaysWithItsPurchaserUntilClaimedOnce() throws {
    var h = Harness()
    let issued = h.issueGift("40", purchaser: "buyer", recipient: .unknown, claim: claimCode(1), ref: "g-1")
    let reply = try #require(issued.appliedReply)
    #expect(reply.fields == [Field("credit", "cr_1"), Field("type", "gift"), Field("balance", "40.00"),
                             Field("currency", "AUD"), Field("card", "************0001"), Field("profile", "buyer"),
                             Field("claim", "pending")])
    let id = CreditID(1)
    #expect(try h.credit(id).purchaser == ProfileID("buyer") && h.credit(id).claim == claimCode(1))
    #expect(h.ledger.claimExists(claimCode(1)))
    #expect(h.credits("buyer").readReply?.items.first?.suffix(2) == [Field("card", "0001"), Field("claim", "pending")])

    // A wrong code is declined like a wrong PIN, and nothing is recorded.
    let before = h.ledger.canonicalState
    #expect(h.claim(claimCode(2), for: "friend").refusal == CreditError(.declined, "claim code declined"))
    #expect(h.ledger.canonicalState == before)

    let claimed = h.claim(claimCode(1), for: "friend", ref: "c-1")
    #expect(claimed.appliedReply?.fields == [Field("credit", "cr_1"), Field("profile", "friend"), Field("balance", "40.00"),
                                             Field("currency", "AUD")])
    #expect(claimed.entry?.events == [.transferred(id, to: ProfileID("friend")!, claimed: true)])
    let credit = try h.credit(id)
    #expect(credit.profile == ProfileID("friend") && credit.claim == nil && credit.purchaser == ProfileID("buyer"))
    #expect(credit.history.last == Activity(seq: 2, at: Fixture.t0, kind: .transfer, amount: .zero,
                                            balanceAfter: MinorUnits(4000), hold: nil, ref: Ref("c-1"), reason: "to friend"))
    #expect(h.credits("buyer").readReply?.value("count") == "0")
    #expect(h.credits("friend").readReply?.items.first?.last == Field("card", "0001"))
    #expect(!h.ledger.claimExists(claimCode(1)))
    // The code works once.
    #expect(h.claim(claimCode(1), for: "thief").refusal == CreditError(.declined, "claim code declined"))
}

@Test func anUnclaimedCardIsNotItsPurchasersTenderButIsTheClaimersAfterwards() throws {
    var h = Harness()
    let store = try h.newCredit(.store, "10", profile: "buyer")
    let gift = try h.newGift("50", purchaser: "buyer", recipient: .unknown, claim: claimCode(7))
    #expect(h.quote(.profile(ProfileID("buyer")!), "30", partial: true).readReply?.items.map { $0[0].value } == [store.description])
    #expect(h.hold(profile: "buyer", "30").refusal == CreditError(.insufficientFunds, "credits cover 10.00 of 30.00 AUD"))
    // Nor may the purchaser give it away before it is claimed.
    #expect(h.transfer(gift, to: "cust-2").refusal == CreditError(.badRequest, "credit cr_2 awaits its recipient's CLAIM"))
    _ = try #require(h.claim(claimCode(7), for: "friend").appliedReply)
    #expect(h.quote(.profile(ProfileID("friend")!), "30").readReply?.items.map { $0[0].value } == [gift.description])
}

@Test func aFrozenCardCanBeClaimedButACancelledOneCannot() throws {
    var h = Harness()
    let frozen = try h.newGift("5", purchaser: "buyer", recipient: .unknown, claim: claimCode(1))
    let cancelled = try h.newGift("5", purchaser: "buyer", recipient: .unknown, claim: claimCode(2))
    _ = try #require(h.change(frozen, .freeze).appliedReply)
    _ = try #require(h.change(cancelled, .cancel).appliedReply)
    #expect(h.claim(claimCode(1), for: "friend").appliedReply?.value("profile") == "friend")
    #expect(try h.credit(frozen).status == .frozen)
    #expect(h.claim(claimCode(2), for: "friend").refusal == CreditError(.creditCancelled, "credit cr_2 is cancelled"))
}

@Test(arguments: [
    (nil, Recipient?.some(.unknown), nil, "recipient=unknown requires purchaser="),
    ("buyer", nil, Seconds(60), "revert_after= requires purchaser= and recipient="),
    (nil, Recipient?.some(.profile(ProfileID("kid")!)), Seconds(60), "revert_after= requires purchaser= and recipient="),
] as [(String?, Recipient?, Seconds?, String)])
func giftPartiesMustComeTogether(_ purchaser: String?, _ recipient: Recipient?, _ revertAfter: Seconds?, _ message: String) {
    var h = Harness()
    let claim = recipient == .unknown ? claimCode(1) : nil
    #expect(h.issueGift("5", purchaser: purchaser, recipient: recipient, claim: claim, revertAfter: revertAfter).refusal
        == CreditError(.badRequest, message))
    #expect(h.issueGift("5", recipient: .profile(ProfileID("kid")!), profile: "kid").refusal
        == CreditError(.badRequest, "give recipient= or profile=, not both"))
    let store = IssueCommand(type: .store, amount: amount("5"), currency: "AUD", profile: ProfileID("p"), expires: nil,
                             card: nil, purchaser: ProfileID("buyer"))
    #expect(h.run(.issue(store)).refusal
        == CreditError(.badRequest, "purchaser=, recipient= and revert_after= are only for gift cards"))
    #expect(h.ledger.creditCount == 0)
}

// MARK: Smart revert

/// A smart card of 50.00 from `buyer` for `kid`, reverting after 60 s.
private func smartCard(_ h: inout Harness) throws -> (CreditID, CardKeys, Instant) {
    let card = h.nextCard()
    let reply = try #require(h.issueGift("50", purchaser: "buyer", recipient: .profile(ProfileID("kid")!),
                                         revertAfter: Seconds(60), card: card, ref: "smart-1").appliedReply)
    #expect(reply.value("profile") == "kid" && reply.value("revert_at") == "2026-11-26T14:31:00Z")
    return (try #require(reply.value("credit").flatMap(CreditID.init)), card, Instant(millis: Fixture.t0.millis + 60_000))
}

@Test func anUnusedSmartCardRevertsToItsPurchaserAtItsDeadline() throws {
    var h = Harness()
    let (id, card, deadline) = try smartCard(&h)
    #expect(try h.credit(id).revertAt == deadline && h.ledger.nextDeadline == deadline)
    #expect(h.ledger.sweep(now: Instant(millis: deadline.millis - 1)) == nil)
    let swept = h.ledger.sweep(now: deadline)
    #expect(swept?.events == [.reverted(id)])
    let credit = try h.credit(id)
    #expect(credit.profile == ProfileID("buyer") && credit.card == nil && credit.revertAt == nil)
    #expect(credit.balance == MinorUnits(5000) && credit.status == .active)
    #expect(credit.history.last == Activity(seq: 2, at: deadline, kind: .revert, amount: MinorUnits(5000),
                                            balanceAfter: MinorUnits(5000), hold: nil, ref: nil, reason: "to buyer"))
    // The card number stopped working; the value is the purchaser's to spend.
    #expect(h.balance(card: card, at: deadline).recordedRefusal == CreditError(.declined, "card declined"))
    #expect(!h.ledger.cardExists(card.cardDigest))
    #expect(h.quote(.profile(ProfileID("buyer")!), "50", at: deadline).readReply?.items.map { $0[0].value } == [id.description])
    #expect(h.ledger.sweep(now: Instant(millis: deadline.millis + 60_000)) == nil)
}

@Test func aSmartCardTheRecipientSpentFromDoesNotRevert() throws {
    var h = Harness()
    let (id, _, deadline) = try smartCard(&h)
    let hold = try h.newHold(id, "20")
    _ = try #require(h.capture(hold, "5").appliedReply)
    #expect(try h.credit(id).revertAt == nil)
    #expect(h.ledger.sweep(now: deadline) == nil)
    #expect(try h.credit(id).profile == ProfileID("kid"))
}

@Test func aSmartCardWaitsForItsPendingHoldAndRevertsRightAfterItIsVoided() throws {
    var h = Harness()
    let (id, _, deadline) = try smartCard(&h)
    let hold = try h.newHold(id, "20", ttl: Seconds(300))
    #expect(h.ledger.sweep(now: deadline) == nil)  // due, but a hold is pending
    #expect(try h.credit(id).profile == ProfileID("kid"))
    _ = try #require(h.void(hold, at: Instant(millis: deadline.millis + 1000)).appliedReply)
    #expect(h.ledger.nextDeadline == deadline)
    #expect(h.ledger.sweep(now: Instant(millis: deadline.millis + 1000))?.events == [.reverted(id)])
    #expect(try h.credit(id).profile == ProfileID("buyer"))
}

@Test func aSmartCardWhoseHoldWasVoidedBeforeItsDeadlineRevertsOnceAlsoAfterReplay() throws {
    var h = Harness()
    let (id, _, deadline) = try smartCard(&h)
    let hold = try h.newHold(id, "5")
    _ = try #require(h.void(hold, at: Instant(millis: Fixture.t0.millis + 1000)).appliedReply)
    // The card is in the revert heap twice now (issue, last hold resolved): it reverts once.
    let swept = h.ledger.sweep(now: deadline)
    #expect(swept?.events == [.reverted(id)])
    #expect(h.ledger.sweep(now: deadline) == nil)
    // A ledger rebuilt from the entries before the revert has the same double heap entry: its own
    // sweep reverts the card once too.
    var rebuilt = Ledger(policy: h.ledger.policy)
    for entry in h.entries { rebuilt.apply(entry) }
    let rebuiltSweep = rebuilt.sweep(now: deadline)
    #expect(rebuiltSweep?.events == [.reverted(id)])
    #expect(rebuilt.canonicalState == h.ledger.canonicalState)
}

@Test func aSmartCardRevertsInTheSweepAfterTheOneThatExpiresItsLastHold() throws {
    var h = Harness()
    let (id, _, deadline) = try smartCard(&h)
    let first = try h.newHold(id, "10", ttl: Seconds(90))
    let second = try h.newHold(id, "10", ttl: Seconds(120))
    #expect(h.ledger.sweep(now: deadline) == nil)
    let firstEnd = Instant(millis: Fixture.t0.millis + 90_000)
    #expect(h.ledger.sweep(now: firstEnd)?.events == [.expired(first)])  // one hold still pending
    let secondEnd = Instant(millis: Fixture.t0.millis + 120_000)
    #expect(h.ledger.sweep(now: secondEnd)?.events == [.expired(second)])
    #expect(h.ledger.sweep(now: secondEnd)?.events == [.reverted(id)])
    #expect(h.ledger.sweep(now: secondEnd) == nil)
}

@Test func aSmartCardPastItsExpiryDateBecomesBreakageNotARevert() throws {
    var h = Harness()
    let card = h.nextCard()
    let reply = try #require(h.issueGift("50", purchaser: "buyer", recipient: .profile(ProfileID("kid")!),
                                         revertAfter: Seconds(86_400), expires: "2026-11-26", card: card).appliedReply)
    let id = try #require(reply.value("credit").flatMap(CreditID.init))
    let end = Instant(millis: Fixture.t0.millis + 86_400_000)
    #expect(h.ledger.sweep(now: end)?.events == [.creditExpired(id)])
    #expect(try h.credit(id).status == .expired && h.credit(id).profile == ProfileID("kid"))
}

// MARK: Stock, activation, top-up

@Test func stockMakesInactiveEmptyCardsThatActivateOnceAndThenTakeLoads() throws {
    var h = Harness()
    let (stocked, cards) = h.stock(2, batch: "xmas")
    #expect(stocked.appliedReply == Reply(items: [[Field("credit", "cr_1"), Field("card", "************0001")],
                                                  [Field("credit", "cr_2"), Field("card", "************0002")]],
                                          fields: [Field("count", "2"), Field("currency", "AUD"), Field("batch", "xmas")]))
    let stock = try h.credit(CreditID(1))
    #expect(stock.status == .inactive && stock.balance == .zero && stock.profile == nil && stock.batch == "xmas")
    #expect(stock.history == [Activity(seq: 1, at: Fixture.t0, kind: .stock, amount: .zero, balanceAfter: .zero,
                                       hold: nil, ref: Ref("auto-1"))])
    // A stock card cannot be spent or topped up before ACTIVATE.
    #expect(h.load(cards[0], "5").refusal == CreditError(.creditInactive, "credit cr_1 is not activated"))
    #expect(h.hold(.card(cardDigest: cards[0].cardDigest, pinDigest: cards[0].pinDigest), "1").refusal
        == CreditError(.creditInactive, "credit cr_1 is not activated"))

    let activated = h.activate(cards[0], "25", ref: "act-1")
    #expect(activated.appliedReply?.fields == [Field("credit", "cr_1"), Field("loaded", "25.00"), Field("balance", "25.00"),
                                               Field("currency", "AUD"), Field("status", "active")])
    #expect(activated.entry?.events == [.loaded(CreditID(1), amount: MinorUnits(2500), activate: true)])
    #expect(activated.entry?.idempotency?.action == .loaded(CreditID(1), amount: MinorUnits(2500), activated: true))
    #expect(h.activate(cards[0], "25").refusal == CreditError(.badRequest, "card ************0001 is already activated"))
    let loaded = h.load(cards[0], "10.50")
    #expect(loaded.appliedReply?.value("balance") == "35.50")
    #expect(loaded.entry?.idempotency?.action == .loaded(CreditID(1), amount: MinorUnits(1050), activated: false))
    #expect(try h.credit(CreditID(1)).history.map(\.kind) == [.stock, .load, .load])
    #expect(try h.credit(CreditID(2)).status == .inactive)
}

@Test func activateAndLoadFollowTheCardsCurrencyStatusAndMaximum() throws {
    var h = Harness()
    let (_, cards) = h.stock(2, "AUD")
    #expect(h.activate(cards[0], "5", "JPY").refusal == CreditError(.currencyMismatch, "credit cr_1 is in AUD, not JPY"))
    #expect(h.activate(cards[0], "5", "EUR").refusal == CreditError(.badCurrency, "unknown currency EUR"))
    #expect(h.activate(cards[0], "0").code == .badAmount)
    #expect(h.activate(cards[0], "1000.01").refusal == CreditError(.badAmount, "would exceed the maximum balance of 1000.00 AUD"))
    #expect(h.activate(Fixture.card(999), "5").refusal == CreditError(.declined, "card declined"))
    #expect(h.load(Fixture.card(999), "5").refusal == CreditError(.declined, "card declined"))
    _ = try #require(h.activate(cards[0], "1000").appliedReply)
    #expect(h.load(cards[0], "0.01").code == .badAmount)
    _ = try #require(h.change(CreditID(1), .freeze).appliedReply)
    #expect(h.load(cards[0], "1").refusal == CreditError(.creditFrozen, "credit cr_1 is frozen"))
    // A stock card cancelled before it was sold can never be activated.
    _ = try #require(h.change(CreditID(2), .cancel).appliedReply)
    #expect(h.activate(cards[1], "5").refusal == CreditError(.creditCancelled, "credit cr_2 is cancelled"))
    #expect(h.run(.stock(count: 1, cards: [h.nextCard()], currency: "EUR", batch: nil)).refusal
        == CreditError(.badCurrency, "unknown currency EUR"))
}

// MARK: Replace

@Test func replaceGivesTheCreditANewCardAndTheOldOneStopsWorking() throws {
    var h = Harness()
    let old = h.nextCard()
    let id = try h.newCredit(.gift, "30", card: old)
    let new = Fixture.card(4242, length: 19)
    let replaced = h.replace(id, with: new, ref: "r-1")
    #expect(replaced.appliedReply?.fields == [Field("credit", "cr_1"), Field("card", "***************4242"),
                                              Field("replaced", "************0001")])
    #expect(replaced.entry?.events == [.cardReplaced(id, new)])
    #expect(try h.credit(id).history.last?.kind == .replace)
    #expect(h.balance(card: new).readReply?.value("balance") == "30.00")
    let declined = h.balance(card: old)
    #expect(declined.recordedRefusal == CreditError(.declined, "card declined"))
    #expect(declined.recordedEntry?.events == [.unknownCardDeclined(old.cardDigest)])  // an unknown card now
    #expect(!h.ledger.cardExists(old.cardDigest) && h.ledger.cardExists(new.cardDigest))
}

@Test func replaceNeedsAnOpenCreditWithACard() throws {
    var h = Harness()
    let store = try h.newCredit(.store, "5")
    let cancelled = try h.newCredit(.gift, "5")
    _ = try #require(h.change(cancelled, .cancel).appliedReply)
    #expect(h.replace(store).refusal == CreditError(.badRequest, "credit cr_1 has no card to replace"))
    #expect(h.replace(cancelled).refusal == CreditError(.creditCancelled, "credit cr_2 is cancelled"))
    #expect(h.replace(CreditID(9)).refusal == CreditError(.notFound, "no credit cr_9"))
    // A frozen card (reported lost) is exactly what gets replaced.
    let frozen = try h.newCredit(.gift, "5")
    _ = try #require(h.change(frozen, .freeze).appliedReply)
    #expect(h.replace(frozen).appliedReply != nil)
}

@Test func replaceClearsAPINLock() throws {
    var h = Harness()
    let old = h.nextCard()
    let id = try h.newCredit(.gift, "30", card: old)
    for _ in 0..<3 { _ = h.balance(card: old, pin: Fixture.wrongPIN) }
    #expect(try h.credit(id).lockedUntil != nil)
    let new = h.nextCard()
    _ = try #require(h.replace(id, with: new).appliedReply)
    let credit = try h.credit(id)
    #expect(credit.lockedUntil == nil && credit.pinFailures == 0)
    #expect(h.balance(card: new).readReply?.value("available") == "30.00")
    #expect(h.balance(card: new).readEntry == nil)  // nothing left to reset
}

// MARK: Transfer

@Test func aWholeTransferMovesTheCreditAndASplitMakesANewCardlessGift() throws {
    var h = Harness()
    let id = try h.newGift("50", purchaser: "buyer", recipient: .profile(ProfileID("kid")!))
    _ = try h.newHold(id, "10")
    let whole = h.transfer(id, to: "aunt", from: "kid", ref: "t-1")
    #expect(whole.appliedReply?.fields == [Field("credit", "cr_1"), Field("profile", "aunt"), Field("balance", "50.00"),
                                           Field("currency", "AUD")])
    #expect(whole.entry?.events == [.transferred(id, to: ProfileID("aunt")!, claimed: false)])
    #expect(h.transfer(id, to: "kid", from: "kid").refusal == CreditError(.forbidden, "credit cr_1 does not belong to kid"))
    #expect(h.transfer(id, to: "aunt").refusal == CreditError(.badRequest, "credit cr_1 already belongs to aunt"))
    #expect(h.transfer(id, to: "kid", "40.01").refusal == CreditError(.insufficientFunds, "40.00 AUD available"))

    let split = h.transfer(id, to: "kid", "15", ref: "t-2")
    #expect(split.appliedReply?.fields == [Field("credit", "cr_1"), Field("new_credit", "cr_2"), Field("amount", "15.00"),
                                           Field("profile", "kid"), Field("balance", "35.00"), Field("currency", "AUD")])
    #expect(split.entry?.events == [.split(id, into: CreditID(2), amount: MinorUnits(1500), to: ProfileID("kid")!)])
    let piece = try h.credit(CreditID(2))
    #expect(piece.type == .gift && piece.card == nil && piece.profile == ProfileID("kid") && piece.balance == MinorUnits(1500))
    #expect(piece.history == [Activity(seq: 1, at: Fixture.t0, kind: .splitIn, amount: MinorUnits(1500),
                                       balanceAfter: MinorUnits(1500), hold: nil, ref: Ref("t-2"), reason: "from cr_1")])
    #expect(try h.credit(id).history.last == Activity(seq: 4, at: Fixture.t0, kind: .split, amount: MinorUnits(1500),
                                                      balanceAfter: MinorUnits(3500), hold: nil, ref: Ref("t-2"), reason: "to cr_2"))
    #expect(h.ledger.auditProblems.isEmpty)
}

@Test func onlyUsableGiftCreditsTransfer() throws {
    var h = Harness()
    let store = try h.newCredit(.store, "5")
    let frozen = try h.newCredit(.gift, "5", profile: "cust-1")
    _ = try #require(h.change(frozen, .freeze).appliedReply)
    #expect(h.transfer(store, to: "cust-2").refusal == CreditError(.notTransferable, "store credit is not transferable"))
    #expect(h.transfer(frozen, to: "cust-2").refusal == CreditError(.creditFrozen, "credit cr_2 is frozen"))
    #expect(h.transfer(CreditID(9), to: "cust-2", from: "cust-1").refusal == CreditError(.notFound, "no credit cr_9"))
}
