// Proves replay's spares are made on request and handed over once each: a ref-log chunk only after the first ask, then one ready after each taken; an index table of the capacity asked for, started again when a different capacity is asked for; and the counts the recovered log line reports.

@testable import CreditServer
import CreditCore
import Glibc
import Testing

/// Asks `take` until it hands something over, for at most five seconds.
private func waitFor<T>(_ take: () -> T?) -> T? {
    for _ in 0..<5_000 {
        if let taken = take() { return taken }
        usleep(1_000)
    }
    return nil
}

@Test func replaySparesMakeAChunkOnlyOnceAskedAndOneMoreAfterEachTaken() throws {
    let spares = ReplaySpares()
    usleep(50_000)
    #expect(spares.takeChunk() == nil, "none is made before the first ask")
    let first = try #require(waitFor(spares.takeChunk))
    #expect(first.isEmpty && first.capacity >= RefLog.chunkBytes)
    let second = try #require(waitFor(spares.takeChunk))
    #expect(second.isEmpty && second.capacity >= RefLog.chunkBytes)
    #expect(first.withUnsafeBytes { $0.baseAddress } != second.withUnsafeBytes { $0.baseAddress })
    #expect(spares.takenCounts.chunks == 2 && spares.takenCounts.tables == 0)
}

@Test func replaySparesMakeTheIndexTableAskedForAndStartAgainForAnotherSize() throws {
    let spares = ReplaySpares()
    #expect(spares.takeIndexTable(capacity: 1 << 12) == nil, "started on the first ask")
    usleep(20_000)
    // Asked for another size before taking the first: that size is made instead.
    #expect(spares.takeIndexTable(capacity: 1 << 13) == nil)
    let table = try #require(waitFor { spares.takeIndexTable(capacity: 1 << 13) })
    #expect(table.capacity == 1 << 13 && spares.takenCounts.tables == 1)
    // Taken: the next ask starts a new one.
    #expect(spares.takeIndexTable(capacity: 1 << 13) == nil)
    #expect(try #require(waitFor { spares.takeIndexTable(capacity: 1 << 13) }).capacity == 1 << 13)
    #expect(spares.takenCounts.tables == 2 && spares.takenCounts.chunks == 0)
}
