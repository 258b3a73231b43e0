// Proves replay's spares are made on request and handed over once each: a chunk (of the ref log, the holds table, the credits table) only after the first ask, then one ready after each taken; an index table of the capacity asked for, started again when a different capacity is asked for; and the counts the recovered log line reports.

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
    usleep(50_000)  // time enough to make one, had it been started before the first ask
    #expect(spares.refChunk() == nil, "none is made before the first ask")
    let first = try #require(waitFor(spares.refChunk))
    #expect(first.isEmpty && first.capacity >= RefLog.chunkBytes)
    let second = try #require(waitFor(spares.refChunk))
    #expect(second.isEmpty && second.capacity >= RefLog.chunkBytes)
    #expect(first.withUnsafeBytes { $0.baseAddress } != second.withUnsafeBytes { $0.baseAddress })
    // The tables' chunks are supplied alike, each kind on its own.
    #expect(spares.holdChunk() == nil)
    let holds = try #require(waitFor(spares.holdChunk))
    #expect(holds.isEmpty && holds.capacity >= NumberedTable<HoldID, Hold>.chunkCount)
    let credits = try #require(waitFor(spares.creditChunk))
    #expect(credits.isEmpty && credits.capacity >= NumberedTable<CreditID, Credit>.chunkCount)
    #expect(spares.refChunks.takenCount == 2 && spares.holdChunks.takenCount == 1 && spares.creditChunks.takenCount == 1)
    #expect(spares.tablesTakenCount == 0)
}

@Test func replaySparesMakeTheIndexTableAskedForAndStartAgainForAnotherSize() throws {
    let spares = ReplaySpares()
    #expect(spares.refIndexTable(capacity: 1 << 12) == nil, "started on the first ask")
    usleep(20_000)  // time enough for the first to be made, and then not handed over
    // Asked for another size before taking the first: that size is made instead.
    #expect(spares.refIndexTable(capacity: 1 << 13) == nil)
    let table = try #require(waitFor { spares.refIndexTable(capacity: 1 << 13) })
    #expect(table.capacity == 1 << 13 && spares.tablesTakenCount == 1)
    // Taken: the next ask starts a new one.
    #expect(spares.refIndexTable(capacity: 1 << 13) == nil)
    #expect(try #require(waitFor { spares.refIndexTable(capacity: 1 << 13) }).capacity == 1 << 13)
    #expect(spares.tablesTakenCount == 2 && spares.refChunks.takenCount == 0)
}
