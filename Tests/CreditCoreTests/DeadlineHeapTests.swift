// Proves the deadline heap always yields its earliest deadline first, under random interleavings of inserts and pops.

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
