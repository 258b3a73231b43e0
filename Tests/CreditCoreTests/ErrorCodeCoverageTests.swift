// Proves every error code the core can produce is produced by some request, and that every code is either the core's or explicitly the server's.

import CreditCore
import Testing

/// Codes only the server produces, never the ledger: UNKNOWN_VERB and LINE_TOO_LONG (framing and
/// parsing), NOT_AUTHENTICATED and AUTH_FAILED (keys), BUSY (back-pressure) and INTERNAL (journal or
/// other I/O failure). FORBIDDEN is the server's for roles, and the core's for a TRANSFER `from=`
/// that does not own the credit.
private let serverOnlyCodes: Set<ErrorCode> = [.unknownVerb, .lineTooLong, .notAuthenticated, .authFailed, .busy, .internal]

private let coreCodes: [ErrorCode] = [
    .badRequest, .badAmount, .badCurrency, .declined, .notFound, .insufficientFunds, .exceedsHold, .holdCaptured,
    .holdVoided, .holdExpired, .currencyMismatch, .noRate, .creditInactive, .creditFrozen, .creditCancelled,
    .holdsPending, .refConflict, .creditExpired, .tooManyHolds, .forbidden, .notTransferable, .notReversible,
    .reversed, .cardLocked,
]

@Test func everyErrorCodeIsClassifiedAsCoreOrServerOnly() {
    #expect(Set(coreCodes).isDisjoint(with: serverOnlyCodes))
    #expect(Set(coreCodes).union(serverOnlyCodes) == Set(ErrorCode.allCases))
    #expect(coreCodes.count + serverOnlyCodes.count == ErrorCode.allCases.count)
}

@Test(arguments: coreCodes)
func theCoreProducesCode(_ code: ErrorCode) throws {
    var h = Harness()
    let card = Fixture.card(42)
    let credit = try h.newCredit(.gift, "100", card: card)
    let expiring = try h.newCredit(.gift, "100", expires: "2026-11-26")
    let pending = try h.newHold(credit, "10", ttl: Seconds(60))
    let captured = try h.newHold(credit, "10")
    let voided = try h.newHold(expiring, "10")
    #expect(h.capture(captured).appliedReply != nil)
    #expect(h.void(voided).appliedReply != nil)
    let frozen = try h.newCredit(.gift, "5")
    #expect(h.change(frozen, .freeze, ref: "freeze-1").appliedReply != nil)
    let cancelled = try h.newCredit(.gift, "5")
    #expect(h.change(cancelled, .cancel).appliedReply != nil)
    let store = try h.newCredit(.store, "5")
    #expect(h.run(.reverse(original: Ref("late-1")!)).appliedReply?.value("tombstone") == "yes")
    let locked = h.nextCard()
    _ = try h.newCredit(.gift, "5", card: locked)
    for _ in 0..<Fixture.policy.pinAttemptsMax {
        #expect(h.hold(.card(cardDigest: locked.cardDigest, pinDigest: Fixture.wrongPIN), "1").recordedRefusal?.code == .declined)
    }
    let inactive = CreditID(h.ledger.state.lastCreditNumber + 1)
    h.restore(adding: stockCard(inactive, 0, card: h.nextCard()))
    let before = h.ledger.canonicalState

    let result: Execution
    switch code {
    case .badRequest: result = h.issue(.promo, "10")
    case .badAmount: result = h.hold(credit, "0.001")
    case .badCurrency: result = h.hold(credit, "1", "EUR")
    case .declined: result = h.run(.claim(code: Fixture.wrongPIN, profile: ProfileID("cust-1")!))  // wrong PINs: PinLockTests
    case .notFound: result = h.void(HoldID(404))
    case .insufficientFunds: result = h.hold(credit, "90.01")
    case .exceedsHold: result = h.capture(pending, "10.01")
    case .holdCaptured: result = h.capture(captured)
    case .holdVoided: result = h.void(voided)
    case .holdExpired: result = h.capture(pending, at: Instant(millis: Fixture.t0.millis + 60_000))
    case .currencyMismatch: result = h.refund(credit, "1", "KWD")
    case .noRate: result = h.hold(credit, "1", "KWD")
    case .creditInactive: result = h.hold(inactive, "1")
    case .creditFrozen: result = h.hold(frozen, "1")
    case .creditCancelled: result = h.refund(cancelled, "1")
    case .holdsPending: result = h.change(credit, .cancel)
    case .refConflict: result = h.hold(credit, "2", ref: "auto-1")  // auto-1 issued the first credit
    case .creditExpired: result = h.hold(expiring, "1", at: CivilDate("2026-11-27")!.startInstant)
    case .forbidden: result = h.run(.transfer(credit, to: ProfileID("cust-2")!, amount: nil, from: ProfileID("cust-1")))
    case .notTransferable: result = h.run(.transfer(store, to: ProfileID("cust-2")!, amount: nil, from: nil))
    case .notReversible: result = h.run(.reverse(original: Ref("freeze-1")!))
    case .reversed: result = h.issue(.gift, "1", ref: "late-1")
    case .cardLocked: result = h.hold(.card(cardDigest: locked.cardDigest, pinDigest: locked.pinDigest), "1")
    case .tooManyHolds:
        _ = try h.newHold(credit, "1")
        _ = try h.newHold(credit, "1")
        result = h.hold(credit, "1")
    default: Issue.record("\(code) is not a core code"); return
    }
    #expect(result.code == code)
    if code != .tooManyHolds { #expect(h.ledger.canonicalState == before) }
}
