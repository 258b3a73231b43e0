// Proves HISTORY lists every issue, hold, capture, void and expiry of a credit in order, with amounts, balance after, holds and refs, and that limit keeps the most recent.

import CreditCore
import Testing

/// A credit with one of each activity: issue, hold, capture, hold, void, hold, expire.
private func creditWithEveryActivity() throws -> (Harness, CreditID) {
    var h = Harness()
    let issued = try #require(h.issue(.gift, "100", ref: "i-1").appliedReply?.value("credit"))
    let credit = try #require(CreditID(issued))
    _ = try #require(h.hold(credit, "30", ref: "h-1").appliedReply)
    h.advance(millis: 1000)
    _ = try #require(h.capture(HoldID(1), "10", ref: "c-1").appliedReply)
    _ = try #require(h.hold(credit, "20", ref: "h-2").appliedReply)
    _ = try #require(h.void(HoldID(2), ref: "v-1").appliedReply)
    _ = try #require(h.hold(credit, "5", ttl: Seconds(30), ref: "h-3").appliedReply)
    h.advance(millis: 30_000)
    let swept = h.sweep()
    _ = try #require(swept)
    return (h, credit)
}

@Test func historyListsEveryActivityWithBalanceAfterHoldsAndRefs() throws {
    var (h, credit) = try creditWithEveryActivity()
    let before = h.ledger.canonicalState
    let reply = try #require(h.history(credit).readReply)
    #expect(reply.fields == [Field("credit", "cr_1"), Field("currency", "AUD"), Field("count", "7")])
    let start = "2026-11-26T14:30:00Z", second = "2026-11-26T14:30:01Z", swept = "2026-11-26T14:30:31Z"
    #expect(reply.items == [
        [Field("seq", "1"), Field("at", start), Field("kind", "issue"), Field("amount", "100.00"),
         Field("balance", "100.00"), Field("ref", "i-1")],
        [Field("seq", "2"), Field("at", start), Field("kind", "hold"), Field("amount", "30.00"),
         Field("balance", "100.00"), Field("hold", "hd_1"), Field("ref", "h-1")],
        [Field("seq", "3"), Field("at", second), Field("kind", "capture"), Field("amount", "10.00"),
         Field("balance", "90.00"), Field("hold", "hd_1"), Field("ref", "c-1")],
        [Field("seq", "4"), Field("at", second), Field("kind", "hold"), Field("amount", "20.00"),
         Field("balance", "90.00"), Field("hold", "hd_2"), Field("ref", "h-2")],
        [Field("seq", "5"), Field("at", second), Field("kind", "void"), Field("amount", "20.00"),
         Field("balance", "90.00"), Field("hold", "hd_2"), Field("ref", "v-1")],
        [Field("seq", "6"), Field("at", second), Field("kind", "hold"), Field("amount", "5.00"),
         Field("balance", "90.00"), Field("hold", "hd_3"), Field("ref", "h-3")],
        [Field("seq", "7"), Field("at", swept), Field("kind", "expire"), Field("amount", "5.00"),
         Field("balance", "90.00"), Field("hold", "hd_3")],
    ])
    #expect(h.ledger.canonicalState == before)
}

@Test func historyLimitKeepsTheMostRecent() throws {
    var (h, credit) = try creditWithEveryActivity()
    let reply = try #require(h.history(credit, limit: 3).readReply)
    #expect(reply.value("count") == "3")
    #expect(reply.items.map { $0.first?.value } == ["5", "6", "7"])
    #expect(reply.items.map { $0[2].value } == ["void", "hold", "expire"])
    #expect(h.history(credit, limit: 1).readReply?.items.first?.first == Field("seq", "7"))
    #expect(h.history(credit, limit: 0).readReply?.fields == [Field("credit", "cr_1"), Field("currency", "AUD"), Field("count", "0")])
    #expect(h.history(credit, limit: 1000).readReply?.items.count == 7)
}

@Test func historyOfAnUnknownCreditIsNotFound() {
    var h = Harness()
    #expect(h.history(CreditID(5)).refusal == CreditError(.notFound, "no credit cr_5"))
}
