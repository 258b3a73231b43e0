// Proves a credit's packed history gives back every activity exactly as appended (every kind; with
// and without hold, ref, sale and reason; negative amounts, instants before the first, extreme
// values; long refs and non-ASCII reasons), numbers them from 1, compares by content, stays
// independent of its copies, takes far fewer bytes than the activities it replaced, links across
// the history arena's blocks, and keeps apart histories appended on many threads at once; and
// that a credit, which holds its history's handle and currency, stays 168 bytes and counts its
// pending holds, which the holds table lists.

import Testing
@testable import CreditCore

private let t0 = Instant(millis: 1_795_703_400_000)

/// A varied activity number `seq`: every kind in turn, optional parts on and off by turns.
private func activity(_ seq: UInt32) -> Activity {
    let n = Int(seq)
    let kind = ActivityKind.allCases[n % ActivityKind.allCases.count]
    let sale = n % 4 == 0 ? SaleAmount(amount: MinorUnits(Int64(n) * 37), currency: n % 8 == 0 ? "JPY" : "KWD",
                                       rate: Rate(units: 10_000 + Int64(n), scale: 4)!) : nil
    let reason = n % 3 == 0 ? (n % 2 == 0 ? "lost card, reported by phone" : "à rembourser — \(n)") : nil
    let ref = n % 5 == 4 ? nil : Ref(n % 2 == 0 ? "r\(n)" : "store-0042/till-7:\(n)#retry@" + String(repeating: "x", count: 30))!
    return Activity(seq: seq, at: Instant(millis: t0.millis + Int64(n * n * 1_003) - (n % 7 == 0 ? 90_000_000 : 0)),
                    kind: kind, amount: MinorUnits(n % 6 == 0 ? -Int64(n) * 1_000 : Int64(n) * 1_000 + 1),
                    balanceAfter: MinorUnits(Int64(n) * 999_999), hold: n % 2 == 0 ? HoldID(UInt64(n) << 20) : nil,
                    ref: ref, sale: sale, reason: reason)
}

@Test func everyActivityComesBackAsAppended() {
    let activities = (1...200).map { activity(UInt32($0)) }
    var log = ActivityLog()
    for (index, activity) in activities.enumerated() {
        log.append(kind: activity.kind, at: activity.at, amount: activity.amount, balanceAfter: activity.balanceAfter,
                   hold: activity.hold, ref: activity.ref, sale: activity.sale, reason: activity.reason)
        #expect(log.count == index + 1)
    }
    #expect(log.activities == activities)
    #expect(ActivityLog(activities) == log)
    var seen: [UInt32] = []
    log.forEach { seen.append($0.seq) }
    #expect(seen == Array(1...200))
}

@Test func extremeValuesSurvivePacking() {
    let activities = [
        Activity(seq: 1, at: Instant(millis: -5), kind: .reversal, amount: MinorUnits(Int64.min + 1),
                 balanceAfter: MinorUnits(Int64.max), hold: HoldID(UInt64.max), ref: Ref(String(repeating: "z", count: 64))!),
        Activity(seq: 2, at: Instant(millis: Int64.max / 2), kind: .unlock, amount: .zero, balanceAfter: .zero,
                 hold: nil, ref: nil, reason: String(repeating: "é", count: 128)),
        Activity(seq: 3, at: Instant(millis: Int64.min / 2), kind: .issue, amount: MinorUnits(1), balanceAfter: MinorUnits(1),
                 hold: HoldID(1), ref: Ref("a")!,
                 sale: SaleAmount(amount: MinorUnits(-1), currency: "AUD", rate: Rate(units: Int64.max, scale: 8)!)),
    ]
    #expect(ActivityLog(activities).activities == activities)
}

@Test func anEmptyHistoryIsEmptyAndAllocatesNothing() {
    let log = ActivityLog()
    #expect(log.isEmpty && log.count == 0 && log.activities.isEmpty)
    #expect(log == ActivityLog([]))
}

@Test func historiesCompareByContent() {
    let one = ActivityLog((1...3).map { activity($0) })
    var other = ActivityLog((1...2).map { activity($0) })
    #expect(one != other)
    let third = activity(3)
    other.append(kind: third.kind, at: third.at, amount: third.amount, balanceAfter: third.balanceAfter,
                 hold: third.hold, ref: third.ref, sale: third.sale, reason: third.reason)
    #expect(one == other)
    var changed = ActivityLog((1...2).map { activity($0) })
    changed.append(kind: third.kind, at: third.at, amount: third.amount + MinorUnits(1), balanceAfter: third.balanceAfter,
                   hold: third.hold, ref: third.ref, sale: third.sale, reason: third.reason)
    #expect(one != changed)
}

@Test func aCopyIsIndependent() {
    var log = ActivityLog((1...5).map { activity($0) })
    let copy = log
    let sixth = activity(6)
    log.append(kind: sixth.kind, at: sixth.at, amount: sixth.amount, balanceAfter: sixth.balanceAfter,
               hold: sixth.hold, ref: sixth.ref, sale: sixth.sale, reason: sixth.reason)
    #expect(copy.count == 5 && log.count == 6)
    #expect(copy.activities == (1...5).map { activity($0) })
}

@Test func packedKindCodesRoundTrip() {
    for kind in ActivityKind.allCases {
        #expect(kind.packedCode < 32)
        #expect(ActivityKind(packedCode: kind.packedCode) == kind)
    }
    #expect(ActivityKind(packedCode: UInt8(ActivityKind.allCases.count)) == nil)
}

@Test func aGiftCardIssueTakesAboutFortyBytes() {
    // The bench's ISSUE: a 22-byte ref, 50.00, a 2026 instant. As `[Activity]` this was a 32-byte
    // header and a 64-byte element, plus a heap string for the ref.
    let issue = Activity(seq: 1, at: t0, kind: .issue, amount: MinorUnits(5000), balanceAfter: MinorUnits(5000),
                         hold: nil, ref: Ref("b1x2y3z4-issue-1234567")!)
    let log = ActivityLog([issue])
    #expect(log.byteCount <= 40)
    #expect(log.activities == [issue])
}

@Test func aCreditStaysSmall() {
    // A million credits live in memory: every 8 bytes here is 8 MB. 200 bytes before the packed
    // currency and the field order, 176 before pending holds were counted instead of listed.
    #expect(MemoryLayout<Currency>.size == 11)
    #expect(MemoryLayout<Credit>.stride <= 168)
}

@Test func aCreditCountsItsPendingHoldsAndTheHoldsTableListsThem() throws {
    // A credit keeps no list of its own: a million cards each held once kept an array apiece.
    var h = Harness()
    let id = try h.newCredit(.gift, "100")
    let first = try h.newHold(id, "30")
    let second = try h.newHold(id, "20")
    _ = h.void(first)
    #expect(try h.pendingHolds(id) == [second] && h.credit(id).pendingHoldCount == 1)
    _ = h.capture(second)
    let credit = try h.credit(id)
    #expect(try h.pendingHolds(id).isEmpty && credit.pendingHoldCount == 0)
    #expect(credit.activityLog.count == 5)
}

@Test func historiesAppendedAcrossArenaBlocksComeBackWhole() {
    // Long reasons fill a 1 MiB block in a few hundred appends; two histories interleave, so each
    // links back across the other's activities and across block boundaries.
    let reason = String(repeating: "r", count: 4_000)
    var one = ActivityLog()
    var two = ActivityLog()
    var expectedOne: [Activity] = []
    var expectedTwo: [Activity] = []
    for n in 1...600 {
        let activity = Activity(seq: UInt32(n), at: Instant(millis: t0.millis + Int64(n)), kind: .freeze, amount: .zero,
                                balanceAfter: MinorUnits(Int64(n)), hold: nil, ref: nil, reason: reason + "\(n)")
        one.append(kind: activity.kind, at: activity.at, amount: activity.amount, balanceAfter: activity.balanceAfter,
                   hold: nil, ref: nil, sale: nil, reason: activity.reason)
        expectedOne.append(activity)
        let other = Activity(seq: UInt32(n), at: activity.at, kind: .unfreeze, amount: .zero, balanceAfter: .zero,
                             hold: nil, ref: Ref("two-\(n)")!)
        two.append(kind: other.kind, at: other.at, amount: other.amount, balanceAfter: other.balanceAfter,
                   hold: nil, ref: other.ref, sale: nil, reason: nil)
        expectedTwo.append(other)
    }
    #expect(one.count == 600 && one.activities == expectedOne)
    #expect(two.count == 600 && two.activities == expectedTwo)
    #expect(one.byteCount > HistoryArena.blockBytes)
}

@Test func historiesAppendedOnManyThreadsAtOnceStayApart() async {
    // The arena is shared by every ledger in the process: appends from several threads at once
    // (as parallel tests make) each get their own bytes.
    let results = await withTaskGroup(of: (Int, [Activity], ActivityLog).self) { group in
        for worker in 0..<8 {
            group.addTask {
                var log = ActivityLog()
                var expected: [Activity] = []
                for n in 1...2_000 {
                    let activity = Activity(seq: UInt32(n), at: Instant(millis: t0.millis + Int64(n)), kind: .hold,
                                            amount: MinorUnits(Int64(worker * 10_000 + n)), balanceAfter: .zero,
                                            hold: HoldID(UInt64(n)), ref: Ref("w\(worker)-\(n)")!)
                    log.append(kind: activity.kind, at: activity.at, amount: activity.amount,
                               balanceAfter: activity.balanceAfter, hold: activity.hold, ref: activity.ref,
                               sale: nil, reason: nil)
                    expected.append(activity)
                }
                return (worker, expected, log)
            }
        }
        var results: [(Int, [Activity], ActivityLog)] = []
        for await result in group { results.append(result) }
        return results
    }
    #expect(results.count == 8)
    for (_, expected, log) in results { #expect(log.activities == expected) }
}
