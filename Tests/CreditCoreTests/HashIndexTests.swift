// Proves the ledger's hash index agrees with a dictionary under random inserts, lookups and removals — with hashes forced to collide, runs that wrap around the end of the table, a hash of 0, hashes alike in their low 32 bits, and growth, checked at every step while a growth moves entries from the old table to the new — so no entry is ever lost or found for the wrong key; that a growth ends after a quarter of the old table's slots in inserts; and that a large growth fills the spare table given for it, and shrinking drops one not used.

import Testing
@testable import CreditCore

/// Drives a `HashIndex` and a dictionary side by side; keys are values' identities here.
private struct IndexHarness {
    var index = HashIndex()
    var reference: [UInt64: UInt64] = [:]  // key → hash
    let hashOf: (UInt64) -> UInt64

    mutating func insert(_ key: UInt64) {
        let hash = hashOf(key)
        index.insert(hash: hash, value: key)
        reference[key] = hash
    }

    mutating func remove(_ key: UInt64) {
        let hash = hashOf(key)
        #expect(index.remove(hash: hash, value: key) == (reference.removeValue(forKey: key) != nil))
    }

    /// Keys whose lookup disagrees with the dictionary (one expectation, for checks made often).
    func mismatches(_ keys: some Sequence<UInt64>) -> [UInt64] {
        keys.filter { key in index.first(hash: hashOf(key)) { $0 == key } != (reference[key] != nil ? key : nil) }
    }

    func check(_ keys: some Sequence<UInt64>) {
        #expect(index.count == reference.count)
        for key in keys {
            let found = index.first(hash: hashOf(key)) { $0 == key }
            #expect(found == (reference[key] != nil ? key : nil), "key \(key)")
        }
    }
}

@Test(arguments: [UInt64(1), 3, 64, UInt64.max])
func aHashIndexAgreesWithADictionaryUnderRandomChanges(hashSpace: UInt64) {
    // hashSpace 1 makes every key collide (one long run); UInt64.max spreads them.
    var random = SystemRandomNumberGenerator()
    var harness = IndexHarness(hashOf: { hashSpace == UInt64.max ? $0 &* 0x9E37_79B9_7F4A_7C15 : $0 % hashSpace })
    let keys = UInt64(0)..<UInt64(hashSpace == 1 ? 300 : 3_000)
    for _ in 0..<(hashSpace == 1 ? 2_000 : 20_000) {
        let key = UInt64.random(in: keys, using: &random)
        if harness.reference[key] == nil { harness.insert(key) } else { harness.remove(key) }
    }
    harness.check(keys)
    for key in keys where harness.reference[key] != nil { harness.remove(key) }
    harness.check(keys)
    #expect(harness.index.count == 0)
}

@Test func entriesWhoseRunsWrapAroundTheTableEndSurviveRemovals() {
    // Hashes whose homes are the last slots of a 16-slot table: their runs wrap to slot 0.
    var harness = IndexHarness(hashOf: { 14 + ($0 % 3) })
    for key in UInt64(0)..<10 { harness.insert(key) }
    harness.check(0..<10)
    for key in [UInt64(0), 4, 7, 1] { harness.remove(key) }
    harness.check(0..<10)
    for key in [UInt64(20), 21] { harness.insert(key) }
    harness.check([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21])
}

@Test func aHashOfZeroIsStoredAndFoundLikeAnyOther() {
    var harness = IndexHarness(hashOf: { $0 < 5 ? 0 : $0 })
    for key in UInt64(0)..<40 { harness.insert(key) }
    harness.check(0..<40)
    harness.remove(2)
    harness.remove(39)
    harness.check(0..<40)
}

@Test func aLookupOnlyReturnsWhatTheCheckAccepts() {
    var index = HashIndex()
    index.insert(hash: 42, value: 1)
    index.insert(hash: 42, value: 2)
    #expect(index.first(hash: 42) { $0 == 2 } == 2)
    #expect(index.first(hash: 42) { _ in false } == nil)
    #expect(index.first(hash: 43) { _ in true } == nil)
    #expect(!index.remove(hash: 42, value: 3) && index.count == 2)
}

@Test func hashesThatDifferOnlyAboveTheLow32BitsAreToldApartByTheCheck() {
    // The index keeps a hash's low 32 bits: these all look alike to it, as if they collided.
    var harness = IndexHarness(hashOf: { ($0 + 1) << 32 | 0xBEEF })
    for key in UInt64(0)..<200 { harness.insert(key) }
    harness.check(0..<210)
    for key in stride(from: UInt64(0), to: 200, by: 3) { harness.remove(key) }
    harness.check(0..<210)
}

@Test func shrinkingAMostlyEmptyTableKeepsTheRest() {
    var harness = IndexHarness(hashOf: { $0 &* 0x9E37_79B9_7F4A_7C15 })
    for key in UInt64(0)..<20_000 { harness.insert(key) }
    let peak = harness.index.capacity
    #expect(peak >= 20_000 * 4 / 3)
    // Not while an eighth or more is used, and removing never shrinks by itself.
    for key in UInt64(0)..<15_000 { harness.remove(key) }  // 5,000 left: more than an eighth
    let shrankEarly = harness.index.shrinkIfSparse()
    #expect(!shrankEarly && harness.index.capacity == peak)
    for key in UInt64(15_000)..<19_900 { harness.remove(key) }
    #expect(harness.index.capacity == peak)
    // A hundred entries: a quarter-full table of 512 slots at most, not the peak's 32,768.
    let shrank = harness.index.shrinkIfSparse()
    #expect(shrank)
    #expect(harness.index.capacity <= 512 && harness.index.capacity >= 100 * 4)
    harness.check(19_800..<20_000)
    for key in UInt64(19_900)..<20_000 { harness.remove(key) }
    let shrankToEmpty = harness.index.shrinkIfSparse()
    #expect(shrankToEmpty && harness.index.capacity == HashIndex.initialCapacity)
    let shrankAgain = harness.index.shrinkIfSparse()
    #expect(!shrankAgain && harness.index.count == 0)
    harness.insert(7)
    harness.check([7, 8])
}

@Test func aCountHoveringAtTheShrinkThresholdResizesTheTableOnce() {
    var harness = IndexHarness(hashOf: { $0 &* 0x9E37_79B9_7F4A_7C15 })
    var live = Array(UInt64(0)..<1_000)  // oldest first
    for key in live { harness.insert(key) }
    #expect(harness.index.capacity == 2_048)
    for key in live.prefix(700) { harness.remove(key) }  // 300 left: an eighth of 2,048 is 256
    live.removeFirst(700)
    let shrankAbove = harness.index.shrinkIfSparse()
    #expect(!shrankAbove)
    // Hover between 250 and 262 entries, shrinking whenever allowed: 2,048 slots, then 1,024 for
    // good. A shrink to a tighter size (say the next power of two at least the count) would make
    // the next inserts grow it again, and the capacities would keep changing.
    var capacities: [Int] = []
    var next = UInt64(1_000)
    for _ in 0..<40 {
        while live.count > 250 { harness.remove(live.removeFirst()) }
        harness.index.shrinkIfSparse()
        capacities.append(harness.index.capacity)
        while live.count < 262 {
            harness.insert(next)
            live.append(next)
            next += 1
        }
        harness.index.shrinkIfSparse()
        capacities.append(harness.index.capacity)
    }
    #expect(capacities.first == 1_024 && Set(capacities) == [1_024], "capacities \(Set(capacities).sorted())")
    harness.check(0..<next)
}

@Test(arguments: [UInt64(1), 5, 0, UInt64.max])
func everyEntryIsFoundAtEveryStepWhileTheTableGrowsInSteps(hashSpace: UInt64) {
    // hashSpace 1 puts every key in one run, 5 in five long ones, 0 in runs whose homes are the
    // last eight slots of every table size, so they wrap around its end; the last spreads them.
    var harness = IndexHarness(hashOf: { key in
        switch hashSpace {
        case 0: 0xFFFF_FFF8 | (key % 8)
        case UInt64.max: key &* 0x9E37_79B9_7F4A_7C15
        default: key % hashSpace
        }
    })
    var random = SplitMix64(seed: hashSpace)
    let keyCount = UInt64(hashSpace == UInt64.max ? 5_000 : 400)  // long runs make every lookup slow
    var growthsSeen = 0
    var wasGrowing = false
    for key in UInt64(0)..<keyCount {
        harness.index.prefetch(hash: harness.hashOf(key))  // a hint: on an empty table too, or both while growing
        harness.insert(key)
        // Removals mid-growth hit entries still in the old table as well as moved ones.
        let victim = UInt64(random.below(Int(key) + 1))
        if random.chance(30) && harness.reference[victim] != nil { harness.remove(victim) }
        let growing = harness.index.isGrowing
        if growing && !wasGrowing { growthsSeen += 1 }
        wasGrowing = growing
        if growing || key % 97 == 0 {
            let wrong = harness.mismatches(0..<keyCount)
            guard wrong.isEmpty && harness.index.count == harness.reference.count else {
                Issue.record("after inserting \(key): \(wrong.count) keys looked up wrongly, first \(wrong.prefix(5))")
                return
            }
        }
    }
    harness.check(0..<keyCount)
    #expect(growthsSeen >= (hashSpace == UInt64.max ? 8 : 5), "grew in steps \(growthsSeen) times")
    // Growth finishes only by inserting; shrinking finishes it first.
    for key in harness.reference.keys.sorted().dropFirst(20) { harness.remove(key) }
    harness.index.shrinkIfSparse()
    #expect(!harness.index.isGrowing && harness.index.count == 20)
    harness.check(0..<keyCount)
}

@Test func aGrowingTableIsEmptiedAfterAQuarterOfItsSlotsInInserts() {
    var harness = IndexHarness(hashOf: { $0 &* 0x9E37_79B9_7F4A_7C15 })
    var key = UInt64(0)
    while !(harness.index.isGrowing && harness.index.capacity == 2_048) {
        harness.insert(key)
        key += 1
    }
    #expect(harness.index.capacity == 2_048 && key == 769, "grows at the insert past three quarters of 1,024")
    var inserts = 0
    while harness.index.isGrowing {
        harness.insert(key)
        key += 1
        inserts += 1
    }
    #expect(inserts == 1_024 / HashIndex.movedSlotsPerInsert - 1)
    harness.check(0..<key)
}

@Test func aCopyThatFinishesAGrowthLeavesTheOriginalsTablesAsTheyWere() {
    var harness = IndexHarness(hashOf: { $0 &* 0x9E37_79B9_7F4A_7C15 })
    var key = UInt64(0)
    while !harness.index.isGrowing {
        harness.insert(key)
        key += 1
    }
    harness.insert(key)  // a growth under way, some of the old table moved
    key += 1
    var copy = harness.index
    copy.shrinkIfSparse()  // finishes the copy's growth: every old slot moved into its new table
    #expect(!copy.isGrowing && harness.index.isGrowing)
    // Had the copy's moves written into the new table the two share, removing a key from the
    // original would take that moved duplicate and leave the key found in its old table.
    for removed in stride(from: UInt64(0), to: key, by: 2) { harness.remove(removed) }
    #expect(harness.mismatches(0..<key).isEmpty && harness.index.count == harness.reference.count)
    #expect((0..<key).allSatisfy { wanted in copy.first(hash: harness.hashOf(wanted)) { $0 == wanted } == wanted })
}

@Test func aLargeGrowthFillsTheSpareTableGivenForItAndShrinkingDropsAnUnusedOne() {
    var harness = IndexHarness(hashOf: { $0 &* 0x9E37_79B9_7F4A_7C15 })
    var key = UInt64(0)
    // Small tables never ask (their growths fault in few pages), nor a large one before it is five
    // eighths full: the first ask is of the first table whose growth makes `spareCapacityMin` slots.
    while harness.index.spareCapacityWanted == nil {
        harness.insert(key)
        key += 1
    }
    let capacity = harness.index.capacity
    #expect(capacity * 2 == HashIndex.spareCapacityMin && harness.index.count == capacity * 5 / 8)
    #expect(harness.index.spareCapacityWanted == capacity * 2 && !harness.index.isGrowing)
    harness.index.giveSpare(SpareIndexTable(capacity: capacity))  // the wrong size: ignored
    #expect(!harness.index.hasSpare)
    harness.index.giveSpare(SpareIndexTable(capacity: capacity * 2))
    let spare = harness.index.tableAddress(spare: true)
    #expect(harness.index.hasSpare && spare != nil && harness.index.spareCapacityWanted == nil)
    while !harness.index.isGrowing {
        harness.insert(key)
        key += 1
    }
    // The growth's new table is the one given.
    #expect(harness.index.capacity == capacity * 2 && !harness.index.hasSpare && harness.index.tableAddress() == spare)
    while harness.index.isGrowing {
        harness.insert(key)
        key += 1
    }
    #expect(harness.mismatches(0..<key).isEmpty && harness.index.count == harness.reference.count)
    // A spare no growth used goes when the index is shrunk (as after replay).
    while harness.index.spareCapacityWanted == nil {
        harness.insert(key)
        key += 1
    }
    harness.index.giveSpare(SpareIndexTable(capacity: harness.index.capacity * 2))
    #expect(harness.index.hasSpare)
    harness.index.shrinkIfSparse()
    #expect(!harness.index.hasSpare && harness.mismatches(stride(from: 0, to: key, by: 97)).isEmpty)
}

@Test(arguments: [1, 11, 12, 13, 1_000, 100_000])
func anIndexMadeLargeEnoughForItsEntriesNeverGrowsWhileTheyAreInserted(entries: Int) {
    var harness = IndexHarness(hashOf: { $0 &* 0x9E37_79B9_7F4A_7C15 })
    harness.index.reserveCapacity(entries)
    let capacity = harness.index.capacity
    #expect(capacity >= HashIndex.initialCapacity && capacity * 3 >= entries * 4 && capacity & (capacity - 1) == 0)
    #expect(capacity <= Swift.max(HashIndex.initialCapacity, 2 * entries * 4 / 3 + 1), "no more than one doubling above the need")
    var grew = false
    for key in 1...UInt64(entries) {
        harness.insert(key)
        grew = grew || harness.index.isGrowing || harness.index.capacity != capacity
    }
    #expect(!grew)
    #expect(harness.mismatches(1...UInt64(entries) + 1).isEmpty && harness.index.count == entries)

    // Only an empty index is resized, and never made smaller.
    harness.index.reserveCapacity(entries * 8)
    #expect(harness.index.capacity == capacity)
    var small = HashIndex()
    small.reserveCapacity(0)
    #expect(small.capacity == 0)
    small.reserveCapacity(100)
    let reserved = small.capacity
    small.reserveCapacity(10)
    #expect(reserved == 256 && small.capacity == reserved)
}
