// Proves the chunked tables behind the ledger state act like a dictionary: lookups, in-place changes, removal, counts, equality and copies that stay independent, and a numbered table starting its next chunk in a spare given it (the refs' log has its own tests in RefLogTests).

import Testing
@testable import CreditCore

@Test func chunkedMapBehavesLikeADictionary() {
    var map = ChunkedMap<Int, String>()
    var reference: [Int: String] = [:]
    for key in 0..<5_000 where key % 3 != 0 {
        map[key] = "v\(key)"
        reference[key] = "v\(key)"
    }
    map[7]! += "!"
    reference[7]! += "!"
    map[8] = nil
    reference[8] = nil
    #expect(map.updateValue("new", forKey: 10) == "v10")
    reference[10] = "new"
    #expect(map.count == reference.count)
    #expect(Set(map.keys) == Set(reference.keys))
    #expect(Array(map.values).sorted() == Array(reference.values).sorted())
    for (key, value) in reference { #expect(map[key] == value) }
    #expect(map[3] == nil && !map.isEmpty && ChunkedMap<Int, String>().isEmpty)
}

@Test func aCopyOfAChunkedMapIsIndependentAndEqualUntilChanged() {
    var map: ChunkedMap<Int, [Int]> = [1: [1], 2: [2]]
    let snapshot = map
    #expect(snapshot == map)
    map[1]!.append(10)
    map[3] = [3]
    #expect(snapshot[1] == [1] && snapshot[3] == nil && snapshot.count == 2)
    #expect(map[1] == [1, 10] && map.count == 3)
    #expect(snapshot != map)
}

@Test func aChunkedMapSplitsPastItsThresholdAndStaysEqualToAnUnsplitOne() {
    var big = ChunkedMap<Int, Int>()
    var small = ChunkedMap<Int, Int>()
    let total = ChunkedMap<Int, Int>.splitThreshold + 10
    for key in 0..<total { big[key] = key * 2 }
    for key in 0..<20 { small[key] = key * 2 }
    #expect(big.count == total && big[total - 1] == (total - 1) * 2 && big[0] == 0)
    var shrunk = big
    for key in 20..<total { shrunk[key] = nil }
    #expect(shrunk == small && small == shrunk && shrunk != big)
    #expect(Set(big.values).count == total)
}

@Test func aNumberedTableBehavesLikeADictionaryAndListsInIDOrder() {
    var table = NumberedTable<CreditID, String>()
    var reference: [CreditID: String] = [:]
    let total = UInt64(NumberedTable<CreditID, String>.chunkCount * 3 + 5)
    for number in stride(from: total, through: 1, by: -1) where number % 3 != 0 {
        table[CreditID(number)] = "v\(number)"
        reference[CreditID(number)] = "v\(number)"
    }
    table[CreditID(7)]! += "!"
    reference[CreditID(7)]! += "!"
    table[CreditID(8)] = nil
    reference[CreditID(8)] = nil
    #expect(table.updateValue("new", forKey: CreditID(10)) == "v10")
    reference[CreditID(10)] = "new"
    #expect(table.updateValue("third", forKey: CreditID(3)) == nil)
    reference[CreditID(3)] = "third"
    #expect(table.count == reference.count)
    #expect(table.keys == reference.keys.sorted())
    #expect(Array(table.values) == reference.keys.sorted().map { reference[$0]! })
    for (id, value) in reference { #expect(table[id] == value) }
    #expect(table[CreditID(6)] == nil && table[CreditID(0)] == nil && table[CreditID(total + 1)] == nil)
    #expect(table[CreditID(UInt64.max)] == nil && table[CreditID(1 << 40)] == nil)
    #expect(!table.isEmpty && NumberedTable<CreditID, String>().isEmpty)
}

@Test func prefetchingAnyIDOfANumberedTableChangesNothing() {
    var table = NumberedTable<CreditID, String>()
    let total = UInt64(NumberedTable<CreditID, String>.chunkCount + 10)
    for number in 1...total where number % 4 != 0 { table[CreditID(number)] = "v\(number)" }
    let before = table
    for number in [0, 1, 4, 5, total - 1, total, total + 1, 1 << 33, UInt64.max] as [UInt64] {
        table.prefetch(CreditID(number))  // a hint: any id, present or not
    }
    NumberedTable<CreditID, String>().prefetch(CreditID(1))
    #expect(table == before && table.count == before.count)

    // Chunks freed by `releaseEmptyChunks`, and chunks never filled between two that were.
    let chunk = UInt64(NumberedTable<CreditID, String>.chunkCount)
    var sparse = NumberedTable<CreditID, String>()
    for number in 1...chunk + 1 { sparse[CreditID(number)] = "v" }
    for number in 1...chunk { sparse[CreditID(number)] = nil }
    sparse.releaseEmptyChunks(below: CreditID(chunk + 1))
    sparse[CreditID(4 * chunk + 1)] = "far"
    let sparseBefore = sparse
    for number in [1, chunk, chunk + 1, 2 * chunk + 5, 3 * chunk, 4 * chunk + 1, 4 * chunk + 2] as [UInt64] {
        sparse.prefetch(CreditID(number))
    }
    #expect(sparse.allocatedChunkCount == 2 && sparse == sparseBefore)
}

@Test func aValueIsReadWhereItLiesOnlyWhenPresent() {
    var table = NumberedTable<CreditID, [Int]>()
    let total = UInt64(NumberedTable<CreditID, [Int]>.chunkCount + 10)
    for number in 1...total where number % 4 != 0 { table[CreditID(number)] = [Int(number), 1] }
    let before = table
    for number in [0, 1, 4, 5, total - 1, total, total + 1, 1 << 33, UInt64.max] as [UInt64] {
        var seen: [Int]?
        table.withValueAddress(CreditID(number)) { seen = $0.pointee }
        #expect(seen == table[CreditID(number)], "id \(number)")
    }
    var calls = 0
    NumberedTable<CreditID, [Int]>().withValueAddress(CreditID(1)) { _ in calls += 1 }
    #expect(calls == 0 && table == before)
}

@Test func aCopyOfANumberedTableIsIndependentAndEqualUntilChanged() {
    var table: NumberedTable<HoldID, [Int]> = [HoldID(1): [1], HoldID(2): [2]]
    let snapshot = table
    #expect(snapshot == table)
    table[HoldID(1)]!.append(10)
    table[HoldID(3000)] = [3]
    #expect(snapshot[HoldID(1)] == [1] && snapshot[HoldID(3000)] == nil && snapshot.count == 2)
    #expect(table[HoldID(1)] == [1, 10] && table.count == 3)
    #expect(snapshot != table)
    table[HoldID(1)] = [1]
    table[HoldID(3000)] = nil
    #expect(snapshot == table && table.count == 2)
}

@Test func removingAnAbsentIDFromANumberedTableChangesNothing() {
    var table = NumberedTable<CreditID, Int>()
    table[CreditID(5_000)] = nil
    #expect(table.isEmpty && table.keys.isEmpty && table == NumberedTable<CreditID, Int>())
}

@Test func aNumberedTableFilledInOrderAsTheLedgerFillsItMatchesADictionaryAndItsCopies() {
    // Ids 1, 2, 3, … are appended to their chunk; a copy taken halfway must not see later ones.
    var table = NumberedTable<HoldID, [Int]>()
    var reference: [HoldID: [Int]] = [:]
    let total = NumberedTable<HoldID, [Int]>.chunkCount * 2 + 17
    var halfway = table
    for number in 1...total {
        table[HoldID(UInt64(number))] = [number]
        reference[HoldID(UInt64(number))] = [number]
        if number == total / 2 { halfway = table }
    }
    table[HoldID(5)]!.append(0)
    reference[HoldID(5)]!.append(0)
    #expect(table.count == total && table.keys == reference.keys.sorted())
    #expect(Array(table.values) == reference.keys.sorted().map { reference[$0]! })
    #expect(halfway.count == total / 2 && halfway[HoldID(UInt64(total / 2 + 1))] == nil && halfway[HoldID(5)] == [5])
    #expect(table.updateValue([-1], forKey: HoldID(UInt64(total + 1))) == nil && table.count == total + 1)
}

@Test func aNumberedTableStartsItsNextChunkInTheSpareGivenAndAsksOnlyWhenHalfFull() throws {
    typealias Table = NumberedTable<HoldID, [Int]>
    var table = Table()
    var reference: [HoldID: [Int]] = [:]
    var number: UInt64 = 0
    func add() {
        number += 1
        table[HoldID(number)] = [Int(number)]
        reference[HoldID(number)] = [Int(number)]
    }
    #expect(!table.wantsSpareChunk)  // empty: nothing to be half full
    while !table.wantsSpareChunk { add() }
    #expect(number == UInt64(Table.chunkCount / 2))
    // Moved in from an optional, so that the table is its only owner and fills it in place.
    var spare: [[Int]?]? = Table.makeSpareChunk()
    #expect(spare!.isEmpty && spare!.capacity >= Table.chunkCount)
    let given = spare!.withUnsafeBytes { $0.baseAddress }
    table.giveSpareChunk(spare.take()!)
    #expect(table.hasSpareChunk && !table.wantsSpareChunk && table.chunkAddress(of: nil) == given)
    while number < UInt64(Table.chunkCount) + 3 { add() }
    // The second chunk is the spare given; a third starts on its own memory.
    #expect(!table.hasSpareChunk && table.chunkAddress(of: HoldID(UInt64(Table.chunkCount) + 1)) == given)
    while number < UInt64(2 * Table.chunkCount) + 3 { add() }
    #expect(table.chunkAddress(of: HoldID(number)) != given)
    #expect(table.count == reference.count && table.keys == reference.keys.sorted())
    #expect(Array(table.values) == reference.keys.sorted().map { reference[$0]! })
    // The spare is not part of the table's value.
    var other = Table()
    for id in reference.keys.sorted() { other[id] = reference[id] }
    other.giveSpareChunk(Table.makeSpareChunk())
    #expect(other == table)
    // A released chunk set again regrows on its own, and the spare waits for the next new chunk.
    for id in 1...UInt64(Table.chunkCount) { table[HoldID(id)] = nil }
    table.releaseEmptyChunks(below: HoldID(UInt64(Table.chunkCount) + 1))
    table.giveSpareChunk(Table.makeSpareChunk())
    table[HoldID(7)] = [7]
    #expect(table.hasSpareChunk && table.chunkAddress(of: HoldID(7)) != table.chunkAddress(of: nil))
    table.dropSpareChunk()
    #expect(!table.hasSpareChunk && table[HoldID(7)] == [7])
}
