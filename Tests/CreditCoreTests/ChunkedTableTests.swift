// Proves the chunked tables behind the ledger state act like a dictionary and an array: lookups, in-place changes, removal, counts, equality, copies that stay independent, and stable positions when old refs are dropped.

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

@Test func chunkedLogKeepsPositionsWhenTheFrontIsDropped() {
    var log = ChunkedLog<Int>()
    let total = ChunkedLog<Int>.chunkCount * 3 + 17
    for value in 0..<total { log.append(value) }
    #expect(log.count == total && log.first == 0 && log.last == total - 1)
    log.removeFirst(ChunkedLog<Int>.chunkCount + 5)
    #expect(log.positions == (ChunkedLog<Int>.chunkCount + 5)..<total)
    #expect(log[ChunkedLog<Int>.chunkCount + 5] == ChunkedLog<Int>.chunkCount + 5)
    #expect(log[total - 1] == total - 1)
    log[total - 1] = -1
    #expect(log.last == -1)
    #expect(Array(log) == Array((ChunkedLog<Int>.chunkCount + 5)..<(total - 1)) + [-1])
    log.removeFirst(log.count)
    #expect(log.isEmpty && log.first == nil)
    log.append(42)
    #expect(log[total] == 42 && Array(log) == [42])
}

@Test func chunkedLogsWithTheSameElementsAreEqualWhateverTheirPositions() {
    var dropped = ChunkedLog<Int>()
    for value in 0..<10 { dropped.append(value) }
    dropped.removeFirst(7)
    let fresh: ChunkedLog<Int> = [7, 8, 9]
    #expect(dropped == fresh)
    var copy = fresh
    copy.append(10)
    #expect(fresh.count == 3 && copy != fresh)
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
