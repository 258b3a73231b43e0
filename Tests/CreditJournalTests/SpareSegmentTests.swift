// Proves the writer rolls over to spare segment files made ahead of need, that the records replay exactly across roll-overs and switches, that a spare is never part of the journal (left over, zero-filled or failing), that none is made without free space to spare, that a spare that cannot be made or linked only turns spares off, and when the writer's rate asks for one.

import Foundation
import Testing
import CreditJournal

/// Small spares, so that a test rolls over several times in a few megabytes, asked for after
/// every batch whenever none is ready. Bigger than the 1 MiB the writer fills in line: a
/// segment runs low (under half of that left) only after its spare is ready, so the writer
/// never fills it further and rolls when it overflows.
private let smallSpares = SpareSegmentSizes(byteCount: 2 << 20, requestAboveBytesPerSecond: 0, pieceBytes: 32 << 10, reserveBytes: 0)

/// Rounds of 200 records of about 1 KB after which a test's spare has surely been asked for.
private let roundsUntilSpareRequested = 1

private let spareName = "journal-spare.tmp"

private func waitForSpare(_ writer: JournalWriter, seconds: Int) -> Bool {
    for _ in 0..<(seconds * 1000) where !writer.hasSpareSegment { usleep(1_000) }
    return writer.hasSpareSegment
}

/// Appends `count` records of 1,000-byte bodies after `expected`, flushes, waits until durable.
private func appendRound(_ writer: JournalWriter, _ expected: inout [Replayed], count: Int) {
    for _ in 0..<count {
        let lsn = UInt64(expected.count + 1)
        let body = testBody(lsn, length: 1000)
        #expect(writer.append(body) == lsn)
        expected.append(Replayed(lsn: lsn, body: body))
    }
    writer.flush()
    waitUntilDurable(writer, UInt64(expected.count))
}

/// A writer with `smallSpares` that has written until its spare was asked for, and waited
/// (up to 60 s) until the spare is ready: its events, itself and the records written.
private func writerWithReadySpare(_ directory: String) throws -> (WriterEvents, JournalWriter, [Replayed]) {
    let events = WriterEvents()
    let writer = try events.makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
    var expected: [Replayed] = []
    for _ in 0..<roundsUntilSpareRequested { appendRound(writer, &expected, count: 200) }
    #expect(waitForSpare(writer, seconds: 60))
    return (events, writer, expected)
}

/// Closes the writer, then checks that it never failed and that its records, all in one
/// segment (nothing rolled over), replay as `expected`.
private func closeExpectingOneSegment(
    _ writer: JournalWriter, _ events: WriterEvents, _ directory: String, replaying expected: [Replayed]
) throws {
    writer.close()
    #expect(events.fatal.isEmpty)
    let (records, report) = try replayAll(directory)
    #expect(records == expected)
    #expect(report.segmentCount == 1)
}

private func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : -1
}

@Test func sustainedWritesRollOverToSparesAndReplayExactly() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
        var expected: [Replayed] = []
        var rolledInto: [String] = []
        for round in 0..<80 {
            // Each round is ~200 KB: the first segment lasts about five rounds, a spare ten.
            let before = try fileNames(directory).filter { $0.hasSuffix(".log") }
            // From then on a spare is asked for in every segment before it can run out.
            let spareWasReady = round >= roundsUntilSpareRequested && waitForSpare(writer, seconds: 60)
            appendRound(writer, &expected, count: 200)
            let after = try fileNames(directory).filter { $0.hasSuffix(".log") }
            let added = after.filter { !before.contains($0) }
            #expect(added.count <= 1)
            if let name = added.first {
                #expect(spareWasReady)
                rolledInto.append(name)
                // A roll-over starts the spare with its whole zero fill already on disk.
                #expect(fileSize(directory + "/" + name) == smallSpares.byteCount)
            }
        }
        #expect(rolledInto.count >= 4)
        #expect(events.warnings.isEmpty)
        writer.close()
        #expect(events.fatal.isEmpty)
        #expect(!(try fileNames(directory)).contains(spareName))
        // Closed segments end at their last record: recovery accepts no zero tail before the last.
        let (records, report) = try replayAll(directory)
        #expect(records == expected)
        #expect(report.tornTail == nil)
        #expect(report.segmentCount == rolledInto.count + 1)
    }
}

@Test func aSnapshotSwitchTakesTheReadySpare() throws {
    try withTempDirectory { directory in
        let (_, writer, firstRecords) = try writerWithReadySpare(directory)
        var expected = firstRecords
        #expect(try fileNames(directory).contains(spareName))
        let first = UInt64(expected.count + 1)
        #expect(writer.startNewSegment() == first)
        appendRound(writer, &expected, count: 3)
        #expect(fileSize(segmentPath(directory, first)) == smallSpares.byteCount)
        // The next spare is asked for after the next batch (these sizes ask whenever none is ready).
        #expect(waitForSpare(writer, seconds: 60))
        writer.close()
        #expect(!(try fileNames(directory)).contains(spareName))
        #expect(fileSize(segmentPath(directory, first)) == 3 * RecordFormat.recordByteCount(bodyCount: 1000))
        let (records, report) = try replayAll(directory)
        #expect(records == expected)
        #expect(report.segmentCount == 2)
    }
}

@Test func aLeftoverSpareIsDeletedAtStartAndNeverReplayed() throws {
    try withTempDirectory { directory in
        try writeFile(directory + "/" + spareName, [UInt8](repeating: 0xAB, count: 4096))
        let writer = try WriterEvents().makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
        #expect(!(try fileNames(directory)).contains(spareName))
        var expected: [Replayed] = []
        appendRound(writer, &expected, count: 5)
        writer.close()
        #expect(try replayAll(directory).0 == expected)
    }
}

@Test func aSpareRenamedInJustBeforeACrashIsAnEmptyLastSegmentThatRecoveryRemoves() throws {
    try withTempDirectory { directory in
        // The writer links the spare in and fsyncs the directory before writing records to it;
        // a crash between the two leaves a last segment of nothing but synced zeros.
        try writeSegment(directory, name: 1, records: (1...3).map { ($0, testBody($0)) })
        try writeFile(segmentPath(directory, 4), [UInt8](repeating: 0, count: smallSpares.byteCount))
        let (records, report) = try replayAll(directory)
        #expect(records.map(\.lsn) == [1, 2, 3])
        #expect(report.removedEmptySegment?.hasSuffix(SegmentName.fileName(firstLSN: 4)) == true)
        #expect(!FileManager.default.fileExists(atPath: segmentPath(directory, 4)))
        #expect(report.nextLSN == 4)
    }
}

@Test func aSpareThatCannotBeMadeTurnsSparesOffAndTheWriterFillsInLine() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        let writer = try events.makeWriter(directory, nextLSN: 1, spareSizes: smallSpares)
        // A directory where the spare goes: creating the file fails (EEXIST) and cannot be undone.
        try FileManager.default.createDirectory(atPath: directory + "/" + spareName, withIntermediateDirectories: false)
        var expected: [Replayed] = []
        for _ in 0..<roundsUntilSpareRequested { appendRound(writer, &expected, count: 200) }
        for _ in 0..<60_000 where events.warnings.isEmpty { usleep(1_000) }
        #expect(events.warnings.count == 1)
        #expect(events.warnings.first?.contains(spareName) == true)
        for _ in 0..<10 { appendRound(writer, &expected, count: 200) }  // more fills in line
        #expect(!writer.hasSpareSegment)
        #expect(writer.durableLSN == UInt64(expected.count))
        try closeExpectingOneSegment(writer, events, directory, replaying: expected)
        #expect(events.warnings.count == 1)
    }
}

@Test func noSpareIsMadeWithoutTheReserveFreeBesideIt() throws {
    try withTempDirectory { directory in
        let events = WriterEvents()
        var sizes = smallSpares
        sizes.reserveBytes = Int.max / 4  // more than any test machine's disk
        let writer = try events.makeWriter(directory, nextLSN: 1, spareSizes: sizes)
        var expected: [Replayed] = []
        for _ in 0..<(roundsUntilSpareRequested + 10) {
            appendRound(writer, &expected, count: 200)
            #expect(!(try fileNames(directory)).contains(spareName))
        }
        // The preparer looked, and declined: not merely slow to start.
        for _ in 0..<60_000 where writer.sparesDeclinedForSpace == 0 { usleep(1_000) }
        #expect(writer.sparesDeclinedForSpace >= 1)
        #expect(!writer.hasSpareSegment)
        try closeExpectingOneSegment(writer, events, directory, replaying: expected)
        #expect(events.warnings.isEmpty)
    }
}

@Test func aSpareWhoseNameIsTakenTurnsSparesOffAndTheSegmentCreationFailsAsWithout() throws {
    try withTempDirectory { directory in
        let (events, writer, expected) = try writerWithReadySpare(directory)
        let next = UInt64(expected.count + 1)
        try writeFile(segmentPath(directory, next), [])  // link refuses it (EEXIST), and so does O_EXCL
        #expect(writer.startNewSegment() == next)
        _ = writer.append(testBody(next))
        writer.flush()
        for _ in 0..<60_000 where events.fatal.isEmpty { usleep(1_000) }
        #expect(events.warnings.count == 1)
        #expect(events.warnings.first?.contains("link") == true)
        #expect(events.fatal.count == 1)
        #expect(events.fatal.first?.contains(SegmentName.fileName(firstLSN: next)) == true)
        #expect(writer.durableLSN == UInt64(expected.count))
        #expect(!(try fileNames(directory)).contains(spareName))
        writer.close()
    }
}

@Test func aRefusedLinkFallsBackToCreatingTheSegmentAndTurnsSparesOff() throws {
    try withTempDirectory { directory in
        let (events, writer, firstRecords) = try writerWithReadySpare(directory)
        var expected = firstRecords
        // The spare's name gone from under the ready spare: link fails (ENOENT), as on a file
        // system without hard links, while creating the segment works.
        try FileManager.default.removeItem(atPath: directory + "/" + spareName)
        let next = UInt64(expected.count + 1)
        #expect(writer.startNewSegment() == next)
        appendRound(writer, &expected, count: 200)
        #expect(fileSize(segmentPath(directory, next)) == 1 << 20)  // created, filled in line
        for _ in 0..<2 { appendRound(writer, &expected, count: 200) }
        #expect(events.warnings.count == 1)
        #expect(events.warnings.first?.contains("link") == true)
        #expect(events.fatal.isEmpty)
        #expect(!writer.hasSpareSegment)  // off: none asked for since
        #expect(try writer.removeSegments(coveredThrough: UInt64(expected.count)) == 1)
        #expect(FileManager.default.fileExists(atPath: segmentPath(directory, next)))
        writer.close()
        let (records, report) = try replayAll(directory, afterLSN: next - 1)
        #expect(records == Array(expected[Int(next - 1)...]))
        #expect(report.segmentCount == 1)
    }
}

@Test func theDemandForSparesIsARateOverWindowsOfASecondOrMore() {
    let start = ContinuousClock.now
    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    // 100 KB every 50 ms is 2 MB a second: asked for when the first window closes, then not
    // again until the next one does.
    var fast = SpareDemand(bytesPerSecond: 1 << 20, start: start)
    var asked: [Int] = []
    for step in 1...60 where fast.wantsSpare(afterWriting: 100_000, at: at(step * 50)) { asked.append(step * 50) }
    #expect(asked == [1000, 2000, 3000])

    // 680 KB a second (2,000 HOLDs), in batches that a slow fdatasync spaces 800 ms apart: a
    // window closes at 1.6 s with 1,088,000 bytes, more than 1 MiB but less than 1.6 s of it.
    var slow = SpareDemand(bytesPerSecond: 1 << 20, start: start)
    for step in 1...20 {
        let wanted = slow.wantsSpare(afterWriting: 544_000, at: at(step * 800))
        #expect(!wanted)
    }

    // Just above and just below 1 MiB over a window of exactly 1.5 s.
    var above = SpareDemand(bytesPerSecond: 1 << 20, start: start)
    let aboveAsks = above.wantsSpare(afterWriting: (1 << 20) * 3 / 2, at: at(1500))
    #expect(aboveAsks)
    var below = SpareDemand(bytesPerSecond: 1 << 20, start: start)
    let belowAsks = below.wantsSpare(afterWriting: (1 << 20) * 3 / 2 - 1, at: at(1500))
    #expect(!belowAsks)

    // A long quiet spell followed by a burst is not a rate, however big the burst.
    var quiet = SpareDemand(bytesPerSecond: 1 << 20, start: start)
    let burstAsks = quiet.wantsSpare(afterWriting: 512 << 20, at: at(90_000))
    let nextAsks = quiet.wantsSpare(afterWriting: 1_000, at: at(90_010))
    #expect(!burstAsks && !nextAsks)

    // 0 asks after every batch; the largest rate never asks.
    var always = SpareDemand(bytesPerSecond: 0, start: start)
    let alwaysAsks = always.wantsSpare(afterWriting: 1, at: at(1))
    #expect(alwaysAsks)
    var never = SpareDemand(bytesPerSecond: .max, start: start)
    let neverAsks = never.wantsSpare(afterWriting: 64 << 20, at: at(1000))
    #expect(!neverAsks)
}
