// Proves the deadline heap always yields its earliest deadline first, under random interleavings of inserts and pops and after entries are removed; that a replayed ledger drops the deadlines of resolved holds when asked and then expires exactly what the live one does; and that a live ledger drops them once they are most of the heap, keeping the pending ones.

@testable import CreditCore
import Testing

@Test func emptyHeapHasNothingToPop() {
    var heap = DeadlineHeap<HoldID>()
    #expect(heap.first == nil)
    #expect(heap.popFirst() == nil)
    #expect(heap.count == 0)
}

@Test(arguments: UInt64(1)...20)
func heapPopsInDeadlineOrderUnderRandomInterleavings(_ seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    var heap = DeadlineHeap<HoldID>()
    var reference: [Int64] = []  // the deadlines in the heap, kept sorted
    var nextHold: UInt64 = 0
    for step in 0..<400 {
        if rng.chance(60) || reference.isEmpty {
            nextHold += 1
            let deadline = rng.inRange(0...200)  // a narrow range, so ties are common
            heap.insert(Instant(millis: deadline), HoldID(nextHold))
            reference.insert(deadline, at: reference.firstIndex { $0 > deadline } ?? reference.count)
        } else {
            let popped = heap.popFirst()
            let expected = reference.removeFirst()
            guard popped?.deadline == Instant(millis: expected) else {
                Issue.record("seed \(seed) step \(step): popped \(String(describing: popped)), expected deadline \(expected)")
                return
            }
        }
        guard heap.count == reference.count, heap.first?.deadline.millis == reference.first else {
            Issue.record("seed \(seed) step \(step): heap holds \(heap.count), first \(String(describing: heap.first))")
            return
        }
    }
}

@Test func equalDeadlinesPopInHoldIDOrderWhateverTheInsertionOrder() {
    var heap = DeadlineHeap<HoldID>()
    let deadline = Instant(millis: 5000)
    for number in [7, 3, 9, 1, 5] as [UInt64] { heap.insert(deadline, HoldID(number)) }
    heap.insert(Instant(millis: 4000), HoldID(8))
    var popped: [UInt64] = []
    while let next = heap.popFirst() { popped.append(next.id.number) }
    #expect(popped == [8, 1, 3, 5, 7, 9])
}

@Test func poppingMostOfALargeHeapGivesItsStorageBackAndKeepsTheOrder() {
    var heap = DeadlineHeap<HoldID>()
    var rng = SplitMix64(seed: 7)
    for hold in UInt64(1)...100_000 { heap.insert(Instant(millis: rng.inRange(0...1_000_000)), HoldID(hold)) }
    #expect(heap.capacity >= 100_000)
    var last = Instant(millis: -1)
    var outOfOrder = 0
    for _ in 0..<99_000 {
        let popped = heap.popFirst()!
        if popped.deadline < last { outOfOrder += 1 }
        last = popped.deadline
    }
    #expect(heap.count == 1_000)
    #expect(heap.capacity < 100_000 / 4)
    var popped = 0
    while let next = heap.popFirst() {
        if next.deadline < last { outOfOrder += 1 }
        last = next.deadline
        popped += 1
    }
    #expect(outOfOrder == 0 && popped == 1_000)
    #expect(heap.capacity <= 2 * DeadlineHeap<HoldID>.keptCapacityMin)
}

@Test(arguments: UInt64(1)...10)
func removingEntriesKeepsTheRestPoppingInOrderAndGivesStorageBack(_ seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    var heap = DeadlineHeap<HoldID>()
    var reference: [(deadline: Int64, hold: UInt64)] = []
    for hold in UInt64(1)...20_000 {
        let deadline = rng.inRange(0...500)  // ties are common, so the id's part of the order counts
        heap.insert(Instant(millis: deadline), HoldID(hold))
        reference.append((deadline, hold))
    }
    for _ in 0..<5_000 { _ = heap.popFirst() }  // a heap that has been used, not just built
    reference.sort { ($0.deadline, $0.hold) < ($1.deadline, $1.hold) }
    reference.removeFirst(5_000)
    let keep: (HoldID) -> Bool = { $0.number % 7 == seed % 7 }  // about one in seven stays
    heap.removeAll(keeping: keep)
    let expected = reference.filter { keep(HoldID($0.hold)) }
    #expect(heap.count == expected.count)
    #expect(heap.capacity < 15_000 / 2 && heap.capacity >= 2 * heap.count, "room for twice what is kept")
    var popped: [(deadline: Int64, hold: UInt64)] = []
    while let next = heap.popFirst() { popped.append((next.deadline.millis, next.id.number)) }
    #expect(popped.map(\.hold) == expected.map(\.hold))
    #expect(popped.map(\.deadline) == expected.map(\.deadline))
}

@Test func aReplayedLedgerKeepsOnlyPendingHoldsDeadlinesOnceShrunkAndSweepsAsTheLiveOneDoes() throws {
    var h = Harness()
    let credits = [try h.newCredit(.gift, "100"), try h.newCredit(.gift, "100")]  // three holds each at most
    var holds: [HoldID] = []
    for index in 0..<6 { holds.append(try h.newHold(credits[index % 2], "5", ttl: Seconds(30))) }
    for index in [0, 2, 4] { _ = try #require(h.capture(holds[index], "2").appliedReply) }
    _ = try #require(h.void(holds[1]).appliedReply)
    var replayed = Ledger(policy: Fixture.policy)
    for entry in h.entries { replayed.apply(entry) }
    #expect(replayed.deadlines.count == 6, "replay never sweeps: every hold's deadline is still there")
    replayed.shrinkSparseTables()
    #expect(replayed.deadlines.count == 2)
    #expect(replayed.deadlines.first?.id == holds[3])
    let due = Instant(millis: Fixture.t0.millis + 30_000)
    let expected = Entry(at: due, idempotency: nil, events: [.expired(holds[3]), .expired(holds[5])])
    #expect(h.ledger.sweep(now: due) == expected)
    #expect(replayed.sweep(now: due) == expected)
    #expect(replayed.deadlines.count == 0 && replayed.pendingHoldCount == 0)
}

@Test func resolvedHoldsDeadlinesAreDroppedOnceMostOfTheHeapSoItStaysNearThePendingHolds() throws {
    var h = Harness()
    let credits = [try h.newCredit(.gift, "1000"), try h.newCredit(.gift, "1000")]
    let kept = try h.newHold(credits[0], "1", ttl: Seconds(900))  // pending throughout
    let limit = 2 * 1 + DeadlineHeap<HoldID>.keptCapacityMin
    var largest = 0
    for _ in 0..<10_000 {
        let hold = try h.newHold(credits[1], "1", ttl: Seconds(900))
        _ = try #require(h.capture(hold, "0.05").appliedReply)
        largest = max(largest, h.ledger.deadlines.count)
    }
    #expect(largest == limit, "the heap grew to the limit, then was cut back")
    #expect(h.ledger.deadlines.count < limit && h.ledger.pendingHoldCount == 1)
    // The pending hold's deadline survived every cut: it expires when due, and nothing else does.
    let due = Instant(millis: Fixture.t0.millis + 900_000)
    #expect(h.ledger.sweep(now: Instant(millis: due.millis - 1)) == nil)
    #expect(h.ledger.sweep(now: due) == Entry(at: due, idempotency: nil, events: [.expired(kept)]))
    #expect(try h.credit(credits[1]).balance == MinorUnits(100_000 - 50_000))
}
