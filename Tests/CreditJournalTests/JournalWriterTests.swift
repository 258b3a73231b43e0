// Proves the writer's records replay exactly, group commit shares fdatasyncs, segments are zero-filled ahead and cut on close, segments rotate and are trimmed safely, a full buffer back-pressures instead of deadlocking, and a writer polling for its next batch neither misses a flush nor holds up close.

import Foundation
import Synchronization
import Testing
import CreditJournal

@Test func appendedRecordsReplayInOrderAcrossFlushes() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1)
        var expected: [Replayed] = []
        for round in 0..<20 {
            for _ in 0..<100 {
                let lsn = UInt64(expected.count + 1)
                let body = testBody(lsn)
                #expect(writer.append(body) == lsn)
                expected.append(Replayed(lsn: lsn, body: body))
            }
            writer.flush()
            if round % 5 == 0 { waitUntilDurable(writer, UInt64(expected.count)) }
        }
        writer.close()
        writer.close()  // idempotent
        #expect(writer.durableLSN == 2000)
        #expect(events.durable.last == 2000)
        #expect(events.durable == events.durable.sorted())
        #expect(events.fatal.isEmpty)
        #expect(!writer.hasFailed)
        let (records, report) = try replayAll(directory)
        #expect(records == expected)
        #expect(report.lastLSN == 2000)
        #expect(report.tornTail == nil)
        #expect(writer.bytesWritten == UInt64(try readFile(segmentPath(directory, 1)).count))
    }
}

@Test func theSegmentBeingWrittenIsZeroFilledAheadAndCutToItsRecordsOnClose() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
        for lsn in UInt64(1)...50 { _ = writer.append(testBody(lsn)) }
        writer.flush()
        waitUntilDurable(writer, 50)
        let path = segmentPath(directory, 1)
        let live = try readFile(path)
        // While written, the file is preallocated: records, then zeros up to a whole chunk.
        #expect(live.count % (1 << 20) == 0 && UInt64(live.count) > writer.bytesWritten)
        #expect(live[Int(writer.bytesWritten)...].allSatisfy { $0 == 0 })
        // A crash now leaves that zero fill; recovery reads it as "never written", not damage.
        let copy = directory + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: false)
        try writeFile(segmentPath(copy, 1), live)
        let (crashed, crashReport) = try replayAll(copy)
        #expect(crashed.map(\.lsn) == Array(1...50))
        #expect(crashReport.tornTail == nil)
        #expect(try readFile(segmentPath(copy, 1)).count == Int(writer.bytesWritten))
        writer.close()
        #expect(try readFile(path).count == Int(writer.bytesWritten))
    }
}

@Test func manyAppendsBeforeOneFlushShareOneFdatasync() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1)
        for lsn in 1...1000 { _ = writer.append(testBody(UInt64(lsn))) }
        writer.flush()
        waitUntilDurable(writer, 1000)
        let syncsForThousand = writer.fsyncCount
        writer.close()
        #expect(syncsForThousand >= 1)
        #expect(syncsForThousand < 1000)
        #expect(syncsForThousand <= 2)
        #expect(try replayAll(directory).0.count == 1000)
    }
}

@Test func appendsWithoutFlushAreWrittenByClose() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
        for lsn in 1...10 { _ = writer.append(testBody(UInt64(lsn))) }
        #expect(writer.durableLSN == 0)
        writer.close()
        #expect(writer.durableLSN == 10)
        #expect(try replayAll(directory).1.lastLSN == 10)
    }
}

@Test func recoveryThenANewWriterContinuesTheSequence() throws {
    try withTempDirectory { directory in
        let first = try WriterEvents().makeWriter(directory, nextLSN: 1)
        for lsn in 1...5 { _ = first.append(testBody(UInt64(lsn))) }
        first.close()
        let (_, report) = try replayAll(directory)
        #expect(report.nextLSN == 6)
        let second = try WriterEvents().makeWriter(directory, nextLSN: report.nextLSN)
        #expect(second.append(testBody(6)) == 6)
        second.close()
        let (records, after) = try replayAll(directory)
        #expect(records.map(\.lsn) == Array(1...6))
        #expect(after.segmentCount == 2)
        let (newer, skipping) = try replayAll(directory, afterLSN: 4)
        #expect(newer.map(\.lsn) == [5, 6])
        #expect(skipping.lastLSN == 6)
    }
}

@Test func aSegmentThatAlreadyExistsIsNeverReopened() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
        writer.close()
        #expect(throws: JournalIOError.self) { try WriterEvents().makeWriter(directory, nextLSN: 1) }
    }
}

@Test func startNewSegmentRotatesAndRemoveSegmentsTrimsOnlyCoveredFiles() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
        for lsn in 1...10 { _ = writer.append(testBody(UInt64(lsn))) }
        #expect(writer.startNewSegment() == 11)
        #expect(writer.startNewSegment() == 11)  // still empty: no second file
        for lsn in 11...20 { _ = writer.append(testBody(UInt64(lsn))) }
        #expect(writer.startNewSegment() == 21)
        for lsn in 21...25 { _ = writer.append(testBody(UInt64(lsn))) }
        writer.flush()
        waitUntilDurable(writer, 25)
        let names = [1, 11, 21].map { SegmentName.fileName(firstLSN: UInt64($0)) }
        #expect(try fileNames(directory) == names)

        #expect(try writer.removeSegments(coveredThrough: 9) == 0)  // journal-1 still holds LSN 10
        #expect(try writer.removeSegments(coveredThrough: 10) == 1)
        #expect(try fileNames(directory) == Array(names[1...]))
        #expect(try writer.removeSegments(coveredThrough: 1000) == 1)  // never the active segment
        #expect(try fileNames(directory) == [names[2]])
        writer.close()

        let (records, report) = try replayAll(directory, afterLSN: 20)
        #expect(records.map(\.lsn) == Array(21...25))
        #expect(report.lastLSN == 25)
    }
}

@Test func rotationWithNothingAfterItLeavesAnEmptySegmentThatRecoveryRemoves() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
        for lsn in 1...3 { _ = writer.append(testBody(UInt64(lsn))) }
        #expect(writer.startNewSegment() == 4)
        writer.close()
        let (records, report) = try replayAll(directory)
        #expect(records.count == 3)
        #expect(report.removedEmptySegment?.hasSuffix(SegmentName.fileName(firstLSN: 4)) == true)
        let next = try WriterEvents().makeWriter(directory, nextLSN: report.nextLSN)
        _ = next.append(testBody(4))
        next.close()
        #expect(try replayAll(directory).0.map(\.lsn) == [1, 2, 3, 4])
    }
}

@Test func aFullPendingBufferBlocksTheAppenderUntilTheWriterDrainsIt() throws {
    try withTempDirectory { directory in
        let big = [UInt8](repeating: 0x5A, count: recordBodyBytesMax)
        let count = JournalWriter.pendingBytesMax / recordBodyBytesMax + 8
        let seen = try appendPastThePendingLimit(directory, count: count, append: { $0.append(big) },
                                                 isAppended: { $0.elementsEqual(big) })
        #expect(seen == count)
    }
}

@Test func aFailedSegmentCreationIsFatalAndNeverPublishesDurability() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1)
        for lsn in 1...3 { _ = writer.append(testBody(UInt64(lsn))) }
        try writeFile(segmentPath(directory, 4), [])  // O_EXCL will refuse to create it
        #expect(writer.startNewSegment() == 4)
        for lsn in 4...5 { _ = writer.append(testBody(UInt64(lsn))) }
        writer.flush()
        for _ in 0..<10_000 where events.fatal.isEmpty { usleep(1_000) }
        #expect(events.fatal.count == 1)
        #expect(events.fatal.first?.contains(SegmentName.fileName(firstLSN: 4)) == true)
        #expect(writer.durableLSN < 4)
        #expect(writer.hasFailed)
        #expect(!events.durable.contains { $0 >= 4 })
        _ = writer.append(testBody(6))  // accepted but dropped: nothing grows after a failure
        writer.flush()
        #expect(writer.pendingByteCount == 0)
        writer.close()
        #expect(events.fatal.count == 1)
    }
}

@Test func aPollingWriterTakesFlushesAtOnceAndStopsPollingWhenClosed() throws {
    try withTempDirectory { directory in
        let starts = Mutex<[Bool]>([])
        let events = WriterEvents()
        let testThread = pthread_self()
        // A poll far longer than the test: a flush must end it, not its deadline.
        let writer = try events.makeWriter(directory, nextLSN: 1, idleSpin: .seconds(30), onThreadStart: { thread in
            starts.withLock { $0.append(thread == .writer && pthread_equal(pthread_self(), testThread) == 0) }
        })
        let began = Date()
        for lsn in UInt64(1)...20 {
            #expect(writer.append(testBody(lsn)) == lsn)
            writer.flush()
            waitUntilDurable(writer, lsn)
        }
        _ = writer.append(testBody(21))  // no flush: close must end the poll and write it
        writer.close()
        #expect(Date().timeIntervalSince(began) < 20, "neither the flushes nor close waited out the poll")
        #expect(writer.durableLSN == 21)
        #expect(writer.pollCount >= 20, "it polled after each batch of one record")
        #expect(writer.sleepCount == 0, "no flush had to wake it")
        #expect(starts.withLock { $0 } == [true], "onThreadStart ran once, on the writer thread")
        #expect(events.fatal.isEmpty)
        #expect(try replayAll(directory).0.map(\.lsn) == Array(1...21))
    }
}

/// Waits (up to 10 s) until `writer` has begun `count` polls.
private func waitForPolls(_ writer: JournalWriter, _ count: Int) {
    for _ in 0..<10_000 where writer.pollCount < count { usleep(1_000) }
    #expect(writer.pollCount == count)
}

/// Waits (up to 10 s) until `writer` has gone to sleep `count` times.
private func waitForSleeps(_ writer: JournalWriter, _ count: Int) {
    for _ in 0..<10_000 where writer.sleepCount < count { usleep(1_000) }
    #expect(writer.sleepCount == count)
}

@Test func aWriterPollsOnlyAfterABatchOfOneRecordThenSleepsAndIsWoken() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1, idleSpin: .milliseconds(5))
        waitForPolls(writer, 1)  // before its first batch, then it sleeps when the poll ends
        waitForSleeps(writer, 1)
        // A batch of many records: no poll after it; the writer sleeps at once and a flush wakes it.
        for lsn in UInt64(1)...50 { _ = writer.append(testBody(lsn)) }
        writer.flush()
        waitUntilDurable(writer, 50)
        waitForSleeps(writer, 2)
        #expect(writer.pollCount == 1)
        _ = writer.append(testBody(51))
        writer.flush()
        waitUntilDurable(writer, 51)
        // A batch of one: the writer polls 5 ms, then sleeps; a later flush still wakes it.
        waitForPolls(writer, 2)
        waitForSleeps(writer, 3)
        _ = writer.append(testBody(52))
        writer.flush()
        waitUntilDurable(writer, 52)
        waitForPolls(writer, 3)
        writer.close()
        #expect(try replayAll(directory).0.map(\.lsn) == Array(1...52))
    }
}

@Test func aWriterWithoutAPollNeverPolls() throws {
    try withTempDirectory { directory in
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1)
        for lsn in UInt64(1)...5 {
            _ = writer.append(testBody(lsn))
            writer.flush()
            waitUntilDurable(writer, lsn)
        }
        writer.close()
        #expect(writer.pollCount == 0)
    }
}
