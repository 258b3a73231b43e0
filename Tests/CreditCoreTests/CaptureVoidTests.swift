// Proves CAPTURE takes all or part of a pending hold and releases the rest, VOID releases it all, and a hold resolves exactly once.

import CreditCore
import Testing

@Test func wholeCaptureTakesTheHoldAndLowersTheBalance() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let hold = try h.newHold(credit, "30")
    let result = h.capture(hold)
    let reply = try #require(result.appliedReply)
    #expect(reply.fields == [Field("hold", "hd_1"), Field("captured", "30.00"), Field("released", "0.00"),
                             Field("balance", "70.00"), Field("currency", "AUD")])
    #expect(reply.items.isEmpty)  // one leg in the sale's currency: the plain reply
    #expect(result.entry?.events == [.captured(hold, legs: [CapturedLeg(amount: MinorUnits(3000), covers: MinorUnits(3000))])])
    let record = try h.holdRecord(hold)
    #expect(record.state == .captured && Array(record.captured) == [MinorUnits(3000)])
    let after = try h.credit(credit)
    #expect(after.balance == MinorUnits(7000) && after.held == .zero && after.available == MinorUnits(7000))
    #expect(try after.pendingHoldCount == 0 && h.pendingHolds(credit).isEmpty)
    #expect(h.ledger.pendingHoldCount == 0)
}

@Test func partialCaptureReleasesTheRest() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    _ = try h.newHold(credit, "20")
    let hold = try h.newHold(credit, "30")
    let reply = try #require(h.capture(hold, "10").appliedReply)
    #expect(reply.fields == [Field("hold", "hd_2"), Field("captured", "10.00"), Field("released", "20.00"),
                             Field("balance", "90.00"), Field("currency", "AUD")])
    #expect(reply.items.isEmpty)
    let after = try h.credit(credit)
    #expect(after.balance == MinorUnits(9000))
    #expect(after.held == MinorUnits(2000))  // only the other hold
    #expect(after.available == MinorUnits(7000))
    #expect(try Array(h.holdRecord(hold).captured) == [MinorUnits(1000)])
}

@Test func capturingAPartialHoldIsBoundedByWhatWasHeldNotRequested() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "10")
    _ = try #require(h.hold(credit, "25", partial: true).appliedReply)
    #expect(h.capture(HoldID(1), "10.01").refusal == CreditError(.exceedsHold, "hold hd_1 is for 10.00 AUD"))
    #expect(h.capture(HoldID(1)).appliedReply?.value("captured") == "10.00")
    #expect(try h.credit(credit).balance == .zero)
}

@Test func captureMoreThanHeldIsExceedsHoldAndChangesNothing() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let hold = try h.newHold(credit, "30")
    let before = h.ledger.canonicalState
    #expect(h.capture(hold, "30.01").refusal == CreditError(.exceedsHold, "hold hd_1 is for 30.00 AUD"))
    #expect(h.ledger.canonicalState == before)
    #expect(h.capture(hold, "30").appliedReply?.value("released") == "0.00")
}

@Test(arguments: ["0", "0.00", "1.234"])
func captureOfZeroOrTooManyDigitsIsBadAmount(_ value: String) throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let hold = try h.newHold(credit, "30")
    #expect(h.capture(hold, value).refusal
        == CreditError(.badAmount, "amount must be positive with at most 2 decimal places for AUD"))
    #expect(try h.holdRecord(hold).state == .pending)
}

@Test func aResolvedHoldCannotBeResolvedAgain() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "100")
    let captured = try h.newHold(credit, "10")
    let voided = try h.newHold(credit, "10")
    #expect(h.capture(captured, "5").appliedReply != nil)
    #expect(h.void(voided).appliedReply != nil)
    let before = h.ledger.canonicalState
    #expect(h.capture(captured).refusal == CreditError(.holdCaptured, "hold hd_1 was already captured"))
    #expect(h.void(captured).code == .holdCaptured)
    #expect(h.capture(voided).refusal == CreditError(.holdVoided, "hold hd_2 was voided"))
    #expect(h.void(voided).code == .holdVoided)
    #expect(h.ledger.canonicalState == before)
}

@Test func unknownHoldIsNotFound() throws {
    var h = Harness()
    _ = try h.newCredit(.gift, "100")
    #expect(h.capture(HoldID(99)).refusal == CreditError(.notFound, "no hold hd_99"))
    #expect(h.void(HoldID(99)).refusal == CreditError(.notFound, "no hold hd_99"))
}

@Test func voidReleasesTheWholeHoldAndKeepsTheBalance() throws {
    var h = Harness()
    let credit = try h.newCredit(.gift, "12.505", "KWD")
    let hold = try h.newHold(credit, "2.5", "KWD")
    #expect(try h.credit(credit).available == MinorUnits(10_005))
    let result = h.void(hold)
    #expect(result.appliedReply?.fields == [Field("hold", "hd_1"), Field("released", "2.500"), Field("currency", "KWD")])
    #expect(result.entry?.events == [.voided(hold)])
    let after = try h.credit(credit)
    #expect(after.balance == MinorUnits(12_505) && after.held == .zero && after.available == MinorUnits(12_505))
    #expect(try h.holdRecord(hold).state == .voided)
    #expect(try Array(h.holdRecord(hold).captured) == [.zero])
}
